package dev.graft.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Cross-entropy on data tokens against hand-computed values and a double-precision reference with
 * its central finite difference (step 1e-4; tolerance 1e-5 + 1e-4·|reference|).
 */
class TokenLossTest {

  /** Values, per-position values and the gradient of the sum wrt the logits. */
  record Result(float[] values, float sum, float[] gradient) {}

  static Result crossEntropy(float[] logits, Shape shape, long[] targets, float[] mask) {
    try (NDManager m = NDManager.newBaseManager();
        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
      NDArray x = m.create(logits, shape);
      x.setRequiresGradient(true);
      Shape bt = new Shape(shape.get(0), shape.get(1));
      NDArray t = m.create(targets, bt);
      NDArray msk = m.create(mask, bt);
      NDArray values = TokenLoss.crossEntropyPerPosition(x, t, msk);
      NDArray sum = TokenLoss.crossEntropySum(x, t, msk);
      gc.backward(sum);
      return new Result(values.toFloatArray(), sum.getFloat(), x.getGradient().toFloatArray());
    }
  }

  /**
   * Position 0: logits (0, 0, ln 2), softmax (¼, ¼, ½), target 2 → ln 2. Position 1: logits (0, ln
   * 3, 0), softmax (1/5, 3/5, 1/5), target 0 → ln 5. The gradient is softmax − one-hot.
   */
  @Test
  void crossEntropy_smallExample_equalsHandComputedValueAndGradient() {
    float ln2 = (float) Math.log(2);
    float ln3 = (float) Math.log(3);
    Result r =
        crossEntropy(
            new float[] {0, 0, ln2, 0, ln3, 0},
            new Shape(1, 2, 3),
            new long[] {2, 0},
            new float[] {1, 1});
    assertEquals(Math.log(2), r.values()[0], 1e-6);
    assertEquals(Math.log(5), r.values()[1], 1e-6);
    assertEquals(Math.log(10), r.sum(), 1e-6);
    float[] expected = {0.25f, 0.25f, -0.5f, 0.2f - 1, 0.6f, 0.2f};
    for (int i = 0; i < 6; i++) {
      assertEquals(expected[i], r.gradient()[i], 1e-6, "gradient[" + i + "]");
    }
  }

  @Test
  void crossEntropy_randomExample_matchesDoubleReferenceAndFiniteDifference() {
    int b = 2;
    int t = 3;
    int v = 5;
    Random rnd = new Random(7);
    float[] logits = new float[b * t * v];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (float) (3 * rnd.nextGaussian());
    }
    long[] targets = {4, 0, 2, 1, 3, 3};
    float[] mask = {1, 1, 0, 1, 1, 0};
    Result r = crossEntropy(logits, new Shape(b, t, v), targets, mask);
    double sum = 0;
    for (int pos = 0; pos < b * t; pos++) {
      double[] z = LossFixtures.toDouble(Arrays.copyOfRange(logits, pos * v, pos * v + v));
      double expected = mask[pos] * nll(z, (int) targets[pos]);
      sum += expected;
      assertEquals(expected, r.values()[pos], 1e-6 + 1e-5 * expected, "value at " + pos);
      for (int i = 0; i < v; i++) {
        double eps = 1e-4;
        z[i] += eps;
        double up = nll(z, (int) targets[pos]);
        z[i] -= 2 * eps;
        double down = nll(z, (int) targets[pos]);
        z[i] += eps;
        double fd = mask[pos] * (up - down) / (2 * eps);
        assertEquals(
            fd, r.gradient()[pos * v + i], 1e-5 + 1e-4 * Math.abs(fd), "gradient at " + pos);
      }
    }
    assertEquals(sum, r.sum(), 1e-5 * sum);
  }

  /** Masked positions give exactly 0 value and 0 gradient, whatever logits and target they hold. */
  @Test
  void crossEntropy_maskedPositions_contributeExactlyZero() {
    float[] logits = {1e30f, -1e30f, 0, 50, 1, 2, -3, 0.5f};
    Result r =
        crossEntropy(logits, new Shape(2, 2, 2), new long[] {1, 0, 1, 1}, new float[] {0, 1, 0, 1});
    assertEquals(0f, Math.abs(r.values()[0]));
    assertEquals(0f, Math.abs(r.values()[2]));
    for (int i : new int[] {0, 1, 4, 5}) {
      assertEquals(0f, Math.abs(r.gradient()[i]), "gradient[" + i + "]");
    }
    // The unmasked positions are untouched.
    assertEquals(nll(new double[] {0, 50}, 0), r.values()[1], 1e-4);
    assertEquals(nll(new double[] {-3, 0.5}, 1), r.values()[3], 1e-6);
    assertEquals(r.values()[1] + r.values()[3], r.sum(), 1e-4);
  }

  @Test
  void crossEntropy_allMasked_isZero() {
    Result r =
        crossEntropy(
            new float[] {1, 2, 3, 4}, new Shape(1, 2, 2), new long[] {0, 1}, new float[] {0, 0});
    assertEquals(0f, Math.abs(r.sum()));
    for (float g : r.gradient()) {
      assertEquals(0f, Math.abs(g));
    }
  }

  @Test
  void crossEntropy_targetsOfTheWrongTypeOrShape_namesBoth() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray logits = m.zeros(new Shape(2, 3, 4));
      NDArray mask = m.ones(new Shape(2, 3));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  TokenLoss.crossEntropySum(
                      logits, m.zeros(new Shape(2, 3), DataType.INT32), mask));
      assertEquals("targets must be int64 (B, T) = (2, 3), got int32 (2, 3)", e.getMessage());
      // (1, 3) would gather silently and broadcast against the mask.
      e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  TokenLoss.crossEntropySum(
                      logits, m.zeros(new Shape(1, 3), DataType.INT64), mask));
      assertEquals("targets must be int64 (B, T) = (2, 3), got int64 (1, 3)", e.getMessage());
    }
  }

  @Test
  void crossEntropy_maskOfTheWrongTypeOrShape_namesBoth() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray logits = m.zeros(new Shape(2, 3, 4));
      NDArray targets = m.zeros(new Shape(2, 3), DataType.INT64);
      // (2, 1) would broadcast silently.
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> TokenLoss.crossEntropySum(logits, targets, m.ones(new Shape(2, 1))));
      assertEquals("mask must be float32 (B, T) = (2, 3), got float32 (2, 1)", e.getMessage());
      e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  TokenLoss.crossEntropySum(
                      logits, targets, m.ones(new Shape(2, 3), DataType.INT64)));
      assertEquals("mask must be float32 (B, T) = (2, 3), got int64 (2, 3)", e.getMessage());
    }
  }

  @Test
  void crossEntropy_logitsNotFloat32ThreeDimensional_isRejected() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray targets = m.zeros(new Shape(2, 3), DataType.INT64);
      NDArray mask = m.ones(new Shape(2, 3));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> TokenLoss.crossEntropySum(m.zeros(new Shape(6, 4)), targets, mask));
      assertEquals("logits must be float32 (B, T, V), got float32 (6, 4)", e.getMessage());
      e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  TokenLoss.crossEntropySum(
                      m.zeros(new Shape(2, 3, 4), DataType.FLOAT64), targets, mask));
      assertEquals("logits must be float32 (B, T, V), got float64 (2, 3, 4)", e.getMessage());
    }
  }

  @Test
  void crossEntropy_targetOutsideVocabulary_throwsRatherThanReadingGarbage() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray logits = m.zeros(new Shape(1, 2, 4));
      NDArray mask = m.ones(new Shape(1, 2));
      NDArray targets = m.create(new long[] {1, 4}, new Shape(1, 2));
      assertThrows(
          RuntimeException.class,
          () -> TokenLoss.crossEntropySum(logits, targets, mask).getFloat());
    }
  }

  /** −log softmax(z)[target] in double. */
  private static double nll(double[] z, int target) {
    return -LossReference.logSoftmax(z)[target];
  }
}
