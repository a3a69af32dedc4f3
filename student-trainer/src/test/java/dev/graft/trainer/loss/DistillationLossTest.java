package dev.graft.trainer.loss;

import static dev.graft.trainer.loss.LossFixtures.evaluate;
import static dev.graft.trainer.loss.LossFixtures.referenceGradient;
import static dev.graft.trainer.loss.LossFixtures.referenceValues;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.trainer.loss.LossFixtures.Problem;
import dev.graft.trainer.loss.LossFixtures.Result;
import dev.graft.trainer.loss.LossFixtures.TopKData;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link DistillationLoss} against the double-precision reference {@link LossReference}: values,
 * and gradients against its central finite difference, in both teacher modes and at τ = 1 and 2.
 *
 * <p>Tolerances: values within 1e-6 + 1e-5·|reference|; gradients within 2e-5 + 1e-4·|reference| of
 * a central difference with step 1e-4 on the double reference (its own error is ~1e-8), so the
 * slack is float32 rounding in the code under test.
 */
class DistillationLossTest {

  static final double VALUE_ABS = 1e-6;
  static final double VALUE_REL = 1e-5;
  static final double GRAD_ABS = 2e-5;
  static final double GRAD_REL = 1e-4;

  static Stream<Arguments> divergencesAndTemperatures() {
    return LossFixtures.divergences()
        .flatMap(d -> Stream.of(Arguments.of(d, 1f), Arguments.of(d, 2f)));
  }

  /** B = 2, T = 3, V = 5; position 4 is masked and holds a teacher that is not a distribution. */
  static Problem example(float tau) {
    Problem p = LossFixtures.random(11, 2, 3, 5, tau, 2.0);
    float[] teacher = p.teacher().clone();
    float[] garbage = {Float.NEGATIVE_INFINITY, 3f, 0f, -1e4f, Float.NEGATIVE_INFINITY};
    System.arraycopy(garbage, 0, teacher, 4 * 5, 5);
    return p.withTeacher(teacher).withMask(1, 1, 1, 1, 0, 1);
  }

  @ParameterizedTest(name = "{0} at tau {1}")
  @MethodSource("divergencesAndTemperatures")
  void perPosition_fullTeacher_matchesDoubleReference(Divergence d, float tau) {
    Problem p = example(tau);
    assertAllClose(
        referenceValues(d, p, null), evaluate(d, p, null).values(), VALUE_ABS, VALUE_REL, "value");
  }

  @ParameterizedTest(name = "{0} at tau {1}")
  @MethodSource("divergencesAndTemperatures")
  void perPosition_topKTeacher_matchesDoubleReferenceOnBuckets(Divergence d, float tau) {
    Problem p = example(tau);
    TopKData top = LossFixtures.topK(p, 2);
    assertAllClose(
        referenceValues(d, p, top), evaluate(d, p, top).values(), VALUE_ABS, VALUE_REL, "value");
  }

  @ParameterizedTest(name = "{0} at tau {1}")
  @MethodSource("divergencesAndTemperatures")
  void gradient_fullTeacher_matchesFiniteDifferenceOfReference(Divergence d, float tau) {
    Problem p = example(tau);
    assertAllClose(
        referenceGradient(d, p, null),
        evaluate(d, p, null).gradient(),
        GRAD_ABS,
        GRAD_REL,
        "gradient");
  }

  @ParameterizedTest(name = "{0} at tau {1}")
  @MethodSource("divergencesAndTemperatures")
  void gradient_topKTeacher_matchesFiniteDifferenceOfReference(Divergence d, float tau) {
    Problem p = example(tau);
    TopKData top = LossFixtures.topK(p, 2);
    assertAllClose(
        referenceGradient(d, p, top),
        evaluate(d, p, top).gradient(),
        GRAD_ABS,
        GRAD_REL,
        "gradient");
  }

  @ParameterizedTest(name = "{0} at tau {1}")
  @MethodSource("divergencesAndTemperatures")
  void topKWithAllTokens_equalsFullValueAndGradient(Divergence d, float tau) {
    Problem p = LossFixtures.random(23, 2, 2, 5, tau, 2.0).withMask(1, 0, 1, 1);
    Result full = evaluate(d, p, null);
    Result all = evaluate(d, p, LossFixtures.allTokensShuffled(p, 5));
    assertAllClose(LossFixtures.toDouble(full.values()), all.values(), 1e-6, 1e-6, "value");
    assertAllClose(LossFixtures.toDouble(full.gradient()), all.gradient(), 1e-6, 1e-6, "gradient");
  }

  @ParameterizedTest(name = "{0} at tau {1}")
  @MethodSource("divergencesAndTemperatures")
  void topKWithAllTokens_matchesDoubleReference(Divergence d, float tau) {
    Problem p = LossFixtures.random(29, 1, 3, 4, tau, 2.0);
    TopKData all = LossFixtures.allTokensShuffled(p, 7);
    assertAllClose(
        referenceValues(d, p, null), evaluate(d, p, all).values(), VALUE_ABS, VALUE_REL, "value");
  }

  /**
   * One position, V = 2: teacher p = (½, ½), student logits (0, τ·ln 3) so q = (¼, ¾) at every τ;
   * the values below are worked out by hand and multiplied by τ².
   */
  @ParameterizedTest(name = "tau {0}")
  @ValueSource(floats = {1f, 2f})
  void perPosition_twoTokenExample_equalsHandComputedValues(float tau) {
    float half = (float) Math.log(0.5);
    Problem p =
        new Problem(
            1,
            1,
            2,
            tau,
            new float[] {0f, (float) (tau * Math.log(3))},
            new float[] {half, half},
            new float[] {1f});
    double t2 = tau * tau;
    // m = ½p + ½q = (3/8, 5/8)
    double klPm = 0.5 * Math.log(0.5 / 0.375) + 0.5 * Math.log(0.5 / 0.625);
    double klQm = 0.25 * Math.log(0.25 / 0.375) + 0.75 * Math.log(0.75 / 0.625);
    // m = 0.3p + 0.7q = (0.325, 0.675)
    double klPm3 = 0.5 * Math.log(0.5 / 0.325) + 0.5 * Math.log(0.5 / 0.675);
    double klQm3 = 0.25 * Math.log(0.25 / 0.325) + 0.75 * Math.log(0.75 / 0.675);
    assertValue(t2 * 0.5 * Math.log(4.0 / 3.0), "forward_kl", p);
    assertValue(t2 * (0.25 * Math.log(0.5) + 0.75 * Math.log(1.5)), "reverse_kl", p);
    assertValue(t2 * (0.5 * klPm + 0.5 * klQm), "jsd:0.5", p);
    assertValue(t2 * (0.3 * klPm3 + 0.7 * klQm3), "jsd:0.3", p);
    assertValue(t2 * klPm, "skew_kl:0.5", p);
    assertValue(t2 * 0.5 * Math.log(4.0 / 3.0), "skew_kl:0", p);
    assertValue(t2 * 0.25, "tv", p);
  }

  /** Forward KL's gradient wrt the raw logits is τ·(q − p); TV's for V = 2 is ±τ·q₀q₁. */
  @ParameterizedTest(name = "tau {0}")
  @ValueSource(floats = {1f, 2f})
  void gradient_twoTokenExample_equalsHandComputedGradient(float tau) {
    float half = (float) Math.log(0.5);
    Problem p =
        new Problem(
            1,
            1,
            2,
            tau,
            new float[] {0f, (float) (tau * Math.log(3))},
            new float[] {half, half},
            new float[] {1f});
    float[] fkl = evaluate(Divergence.parse("forward_kl"), p, null).gradient();
    assertEquals(tau * (0.25 - 0.5), fkl[0], 1e-6);
    assertEquals(tau * (0.75 - 0.5), fkl[1], 1e-6);
    // TV = |q₁ − ½| with q₁ = σ((z₁ − z₀)/τ) > ½, so dTV/dz₁ = q₀q₁/τ, times τ².
    float[] tv = evaluate(Divergence.parse("tv"), p, null).gradient();
    assertEquals(-tau * 3.0 / 16, tv[0], 1e-6);
    assertEquals(tau * 3.0 / 16, tv[1], 1e-6);
  }

  /**
   * The class Javadoc's claim: in top-k mode forward KL's gradient wrt the scaled logits is q_j −
   * p_j on the top-k and q_j·(1 − p_tail/q_tail) on the tail; wrt the raw logits, times τ.
   */
  @ParameterizedTest(name = "tau {0}")
  @ValueSource(floats = {1f, 2f})
  void forwardKl_topKGradient_isAsDocumented(float tau) {
    Problem p = LossFixtures.random(31, 1, 2, 6, tau, 2.0);
    TopKData top = LossFixtures.topK(p, 3);
    float[] grad = evaluate(Divergence.parse("forward_kl"), p, top).gradient();
    for (int pos = 0; pos < 2; pos++) {
      double[] z = p.logitsAt(pos);
      for (int i = 0; i < z.length; i++) {
        z[i] /= tau;
      }
      double[] lq = LossReference.logSoftmax(z);
      double pTail = Math.exp(top.logTail()[pos]);
      double qTail = 1;
      for (int j = 0; j < 3; j++) {
        qTail -= Math.exp(lq[(int) top.ids()[pos * 3 + j]]);
      }
      for (int i = 0; i < 6; i++) {
        double q = Math.exp(lq[i]);
        double expected = tau * q * (1 - pTail / qTail);
        for (int j = 0; j < 3; j++) {
          if (top.ids()[pos * 3 + j] == i) {
            expected = tau * (q - Math.exp(top.logProbs()[pos * 3 + j]));
          }
        }
        assertEquals(expected, grad[pos * 6 + i], 1e-5, "position " + pos + " token " + i);
      }
    }
  }

  /**
   * A student that is sure of the teacher's top-2 leaves a tail of ~4e-9, below float32's
   * resolution of 1 − Σ q; the tail bucket must still carry its log (≈ −19.3), which forward KL
   * against a teacher tail of 0.1 weighs heavily.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.graft.trainer.loss.LossFixtures#divergences")
  void topK_studentTailBelowFloatResolution_matchesReference(Divergence d) {
    float lp0 = (float) Math.log(0.5);
    float lp1 = (float) Math.log(0.4);
    float lpRest = (float) Math.log(0.05);
    Problem p =
        new Problem(
            1,
            1,
            4,
            1f,
            new float[] {20f, 20f, 0f, 1f},
            new float[] {lp0, lp1, lpRest, lpRest},
            new float[] {1f});
    TopKData top = LossFixtures.topK(p, 2);
    Result r = evaluate(d, p, top);
    assertAllClose(referenceValues(d, p, top), r.values(), VALUE_ABS, VALUE_REL, "value");
    assertAllClose(referenceGradient(d, p, top), r.gradient(), GRAD_ABS, GRAD_REL, "gradient");
  }

  @Test
  void sum_isTheSumOfPerPosition() {
    Problem p = example(2f);
    Divergence d = Divergence.parse("jsd:0.3");
    double expected = 0;
    for (double v : referenceValues(d, p, null)) {
      expected += v;
    }
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray logits = m.create(p.logits(), new Shape(2, 3, 5));
      NDArray mask = m.create(p.mask(), new Shape(2, 3));
      NDArray sum = DistillationLoss.sum(d, logits, LossFixtures.targets(m, p, null), mask, 2f);
      assertEquals(0, sum.getShape().dimension(), "sum is a scalar");
      assertEquals(expected, sum.getFloat(), VALUE_ABS + VALUE_REL * expected);
    }
  }

  private static void assertValue(double expected, String spec, Problem p) {
    float actual = evaluate(Divergence.parse(spec), p, null).values()[0];
    assertEquals(expected, actual, 1e-6 + 1e-5 * Math.abs(expected), spec);
  }

  static void assertAllClose(
      double[] expected, float[] actual, double abs, double rel, String what) {
    assertEquals(expected.length, actual.length, what + " length");
    for (int i = 0; i < expected.length; i++) {
      double tol = abs + rel * Math.abs(expected[i]);
      if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
        fail(what + "[" + i + "]: expected " + expected[i] + " ± " + tol + " but was " + actual[i]);
      }
    }
  }
}
