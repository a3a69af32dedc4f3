package dev.graft.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Bad inputs to {@link DistillationLoss} and {@link TeacherTargets} are refused with a message. */
class DistillationLossValidationTest {

  private static final Divergence FKL = new Divergence.ForwardKl();

  private NDManager m;
  private NDArray logits; // (2, 3, 5)
  private NDArray mask; // (2, 3)
  private TeacherTargets.Full full;

  @BeforeEach
  void setUp() {
    m = NDManager.newBaseManager();
    logits = m.zeros(new Shape(2, 3, 5));
    mask = m.ones(new Shape(2, 3));
    full = new TeacherTargets.Full(m.zeros(new Shape(2, 3, 5)).sub(m.create((float) Math.log(5))));
  }

  @AfterEach
  void tearDown() {
    m.close();
  }

  private IllegalArgumentException refused(Executable call) {
    return assertThrows(IllegalArgumentException.class, call);
  }

  private TeacherTargets.TopK topK(Shape ids, Shape logProbs, Shape logTail) {
    return new TeacherTargets.TopK(
        m.zeros(ids, DataType.INT64), m.zeros(logProbs), m.zeros(logTail));
  }

  @Test
  void crossEntropy_isRefusedWithAPointerToTokenLoss() {
    IllegalArgumentException e =
        refused(() -> DistillationLoss.sum(new Divergence.CrossEntropy(), logits, full, mask, 1f));
    assertEquals("ce has no teacher; compute it with TokenLoss.crossEntropySum", e.getMessage());
    e =
        refused(
            () ->
                DistillationLoss.perPosition(
                    new Divergence.CrossEntropy(), logits, full, mask, 1f));
    assertEquals("ce has no teacher; compute it with TokenLoss.crossEntropySum", e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(floats = {0f, -0f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY})
  void temperature_notFinitePositive_isRefused(float tau) {
    IllegalArgumentException e = refused(() -> DistillationLoss.sum(FKL, logits, full, mask, tau));
    assertEquals("temperature tau must be finite and > 0, got " + tau, e.getMessage());
  }

  @Test
  void temperature_tinyPositive_isAccepted_andGivesTheDefinedValue() {
    // Not a refusal: down to the smallest normal temperature, the loss is tau^2 KL(p || softmax(logits / tau)).
    // Logits tau * z with tau a power of two make logits / tau = z exactly.
    double[] z = {0, 1, 2, 3, 4};
    double[] uniform = new double[5];
    java.util.Arrays.fill(uniform, -Math.log(5));
    for (float tau : new float[] {Float.MIN_NORMAL, 0x1p-7f}) {
      float[] scaled = new float[30];
      double[] logitsRow = new double[5];
      for (int i = 0; i < 5; i++) {
        logitsRow[i] = tau * z[i];
      }
      for (int i = 0; i < 30; i++) {
        scaled[i] = (float) logitsRow[i % 5];
      }
      double want = 6 * LossReference.full(FKL, logitsRow, uniform, tau);
      float got = DistillationLoss.sum(FKL, m.create(scaled, new Shape(2, 3, 5)), full, mask, tau).getFloat();
      assertEquals(want, got, 1e-5 * want + 1e-12, "tau " + tau);
    }
  }

  @Test
  void studentLogits_notFloat32ThreeDimensional_areRefused() {
    IllegalArgumentException e =
        refused(() -> DistillationLoss.sum(FKL, m.zeros(new Shape(6, 5)), full, mask, 1f));
    assertEquals("student logits must be float32 (B, T, V), got float32 (6, 5)", e.getMessage());
    e =
        refused(
            () ->
                DistillationLoss.sum(
                    FKL, m.zeros(new Shape(2, 3, 5), DataType.FLOAT64), full, mask, 1f));
    assertEquals("student logits must be float32 (B, T, V), got float64 (2, 3, 5)", e.getMessage());
  }

  @Test
  void mask_ofAnotherShapeOrType_isRefusedEvenWhereItWouldBroadcast() {
    IllegalArgumentException e =
        refused(() -> DistillationLoss.sum(FKL, logits, full, m.ones(new Shape(2, 1)), 1f));
    assertEquals("mask must be float32 (B, T) = (2, 3), got float32 (2, 1)", e.getMessage());
    e = refused(() -> DistillationLoss.sum(FKL, logits, full, m.ones(new Shape(3)), 1f));
    assertEquals("mask must be float32 (B, T) = (2, 3), got float32 (3)", e.getMessage());
    e =
        refused(
            () ->
                DistillationLoss.sum(
                    FKL, logits, full, m.ones(new Shape(2, 3), DataType.BOOLEAN), 1f));
    assertEquals("mask must be float32 (B, T) = (2, 3), got boolean (2, 3)", e.getMessage());
  }

  @Test
  void fullTeacher_ofAnotherShape_namesBothShapes() {
    TeacherTargets.Full wrong = new TeacherTargets.Full(m.zeros(new Shape(2, 3, 4)));
    IllegalArgumentException e = refused(() -> DistillationLoss.sum(FKL, logits, wrong, mask, 1f));
    assertEquals(
        "teacher log-probs (2, 3, 4) must have the student logits' shape (2, 3, 5)",
        e.getMessage());
  }

  @Test
  void fullTeacher_notFloat32_isRefusedAtConstruction() {
    IllegalArgumentException e =
        refused(() -> new TeacherTargets.Full(m.zeros(new Shape(2, 3, 5), DataType.FLOAT64)));
    assertEquals("teacher log-probs must be float32, got float64", e.getMessage());
  }

  @Test
  void topKTeacher_idsNotInt64_isRefused() {
    IllegalArgumentException e =
        refused(
            () ->
                new TeacherTargets.TopK(
                    m.zeros(new Shape(2, 3, 2), DataType.INT32),
                    m.zeros(new Shape(2, 3, 2)),
                    m.zeros(new Shape(2, 3))));
    assertEquals("teacher top-k ids must be int64, got int32", e.getMessage());
  }

  @Test
  void topKTeacher_logProbsOrTailNotFloat32_isRefused() {
    IllegalArgumentException e =
        refused(
            () ->
                new TeacherTargets.TopK(
                    m.zeros(new Shape(2, 3, 2), DataType.INT64),
                    m.zeros(new Shape(2, 3, 2), DataType.FLOAT64),
                    m.zeros(new Shape(2, 3))));
    assertEquals("teacher top-k log-probs must be float32, got float64", e.getMessage());
    e =
        refused(
            () ->
                new TeacherTargets.TopK(
                    m.zeros(new Shape(2, 3, 2), DataType.INT64),
                    m.zeros(new Shape(2, 3, 2)),
                    m.zeros(new Shape(2, 3), DataType.FLOAT16)));
    assertEquals("teacher log tail mass must be float32, got float16", e.getMessage());
  }

  @Test
  void topKTeacher_idsAndLogProbsOfDifferentShapes_areRefused() {
    IllegalArgumentException e =
        refused(() -> topK(new Shape(2, 3, 2), new Shape(2, 3, 3), new Shape(2, 3)));
    assertEquals(
        "teacher top-k ids (2, 3, 2) and log-probs (2, 3, 3) must have one shape (B, T, k)",
        e.getMessage());
    e = refused(() -> topK(new Shape(6, 2), new Shape(6, 2), new Shape(6)));
    assertEquals(
        "teacher top-k ids (6, 2) and log-probs (6, 2) must have one shape (B, T, k)",
        e.getMessage());
  }

  @Test
  void topKTeacher_tailOfAnotherShape_isRefused() {
    IllegalArgumentException e =
        refused(() -> topK(new Shape(2, 3, 2), new Shape(2, 3, 2), new Shape(2, 3, 1)));
    assertEquals("teacher log tail mass (2, 3, 1) must be (B, T) = (2, 3)", e.getMessage());
  }

  @Test
  void topKTeacher_forOtherPositions_namesBothShapes() {
    TeacherTargets.TopK wrong = topK(new Shape(2, 4, 2), new Shape(2, 4, 2), new Shape(2, 4));
    IllegalArgumentException e = refused(() -> DistillationLoss.sum(FKL, logits, wrong, mask, 1f));
    assertEquals(
        "teacher top-k (2, 4, 2) must cover the student logits' (B, T) (2, 3, 5)", e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 6})
  void topKTeacher_withKOutsideOneToV_isRefused(int k) {
    TeacherTargets.TopK wrong = topK(new Shape(2, 3, k), new Shape(2, 3, k), new Shape(2, 3));
    IllegalArgumentException e = refused(() -> DistillationLoss.sum(FKL, logits, wrong, mask, 1f));
    assertEquals("teacher top-k has k = " + k + " but must have 1 <= k <= V = 5", e.getMessage());
  }

  @Test
  void topKTeacher_k_isTheLastDimension() {
    assertEquals(2, topK(new Shape(2, 3, 2), new Shape(2, 3, 2), new Shape(2, 3)).k());
  }
}
