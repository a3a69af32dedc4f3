package dev.graft.trainer.loss;

import static dev.graft.trainer.loss.DistillationLossTest.assertAllClose;
import static dev.graft.trainer.loss.LossFixtures.evaluate;
import static dev.graft.trainer.loss.LossFixtures.referenceValues;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.trainer.loss.LossFixtures.Problem;
import dev.graft.trainer.loss.LossFixtures.Result;
import dev.graft.trainer.loss.LossFixtures.TopKData;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Properties every distillation loss must have, checked on random and adversarial inputs. */
class DistillationLossPropertiesTest {

  static Stream<Arguments> divergencesAndTemperatures() {
    return DistillationLossTest.divergencesAndTemperatures();
  }

  /**
   * A student whose logits are the teacher's (so q = p at every τ) in a problem of shape (2, 3, 7).
   */
  static Problem studentEqualToTeacher(float tau) {
    Random rnd = new Random(41);
    double[] teacherLogits = new double[2 * 3 * 7];
    float[] logits = new float[teacherLogits.length];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (float) (3 * rnd.nextGaussian());
      teacherLogits[i] = logits[i];
    }
    float[] mask = new float[6];
    Arrays.fill(mask, 1f);
    return new Problem(
        2, 3, 7, tau, logits, LossFixtures.teacherLogProbs(teacherLogits, 7, tau), mask);
  }

  @ParameterizedTest(name = "{0} at tau {1}")
  @MethodSource("divergencesAndTemperatures")
  void studentEqualToTeacher_givesZeroLossAndGradient(Divergence d, float tau) {
    Problem p = studentEqualToTeacher(tau);
    for (TopKData top : new TopKData[] {null, LossFixtures.topK(p, 3)}) {
      Result r = evaluate(d, p, top);
      String mode = top == null ? "full" : "top-3";
      for (float v : r.values()) {
        assertEquals(0, v, 1e-6, mode + " value");
      }
      for (float g : r.gradient()) {
        assertEquals(0, g, 1e-5, mode + " gradient");
      }
    }
  }

  /** TV's noise threshold makes the minimum exact: zero value and the zero subgradient. */
  @ParameterizedTest(name = "tau {0}")
  @ValueSource(floats = {1f, 2f})
  void tv_studentEqualToTeacher_isExactlyZeroWithZeroGradient(float tau) {
    Problem p = studentEqualToTeacher(tau);
    Result r = evaluate(Divergence.parse("tv"), p, null);
    for (float v : r.values()) {
      assertEquals(0f, v);
    }
    for (float g : r.gradient()) {
      assertEquals(0f, Math.abs(g));
    }
  }

  @ParameterizedTest(name = "{0} at tau {1}")
  @MethodSource("divergencesAndTemperatures")
  void topK_isAtMostFull_dataProcessingInequality(Divergence d, float tau) {
    for (long seed = 0; seed < 5; seed++) {
      Problem p = LossFixtures.random(100 + seed, 2, 3, 8, tau, 1.0 + seed);
      float[] full = evaluate(d, p, null).values();
      for (int k : new int[] {1, 3, 7}) {
        float[] top = evaluate(d, p, LossFixtures.topK(p, k)).values();
        for (int pos = 0; pos < full.length; pos++) {
          assertTrue(
              top[pos] <= full[pos] * (1 + 1e-6) + 1e-6,
              "seed "
                  + seed
                  + " k "
                  + k
                  + " position "
                  + pos
                  + ": top-k "
                  + top[pos]
                  + " > full "
                  + full[pos]);
        }
      }
    }
  }

  @ParameterizedTest(name = "{0} at tau {1}")
  @MethodSource("divergencesAndTemperatures")
  void values_areNonNegativeAndTvIsAtMostTauSquared(Divergence d, float tau) {
    for (long seed = 0; seed < 5; seed++) {
      Problem p = LossFixtures.random(200 + seed, 2, 3, 8, tau, 0.5 + seed);
      for (TopKData top : new TopKData[] {null, LossFixtures.topK(p, 2)}) {
        for (float v : evaluate(d, p, top).values()) {
          assertTrue(v >= 0, "seed " + seed + ": " + v);
          if (d instanceof Divergence.TotalVariation) {
            assertTrue(v <= tau * tau * (1 + 1e-6), "tv " + v);
          }
        }
      }
    }
  }

  /**
   * A teacher that rules tokens out (−∞ log-probs, an empty tail) gives finite values and gradients
   * that match the reference with the documented floor log(Float.MIN_NORMAL); reverse KL against an
   * empty teacher tail is large but finite.
   */
  @ParameterizedTest(name = "{0} at tau {1}")
  @MethodSource("divergencesAndTemperatures")
  void negativeInfinityInTeacher_staysFiniteAndMatchesFlooredReference(Divergence d, float tau) {
    Problem p = LossFixtures.random(300, 2, 2, 5, tau, 2.0);
    float[] teacher = p.teacher().clone();
    for (int pos = 0; pos < 4; pos++) {
      // Tokens 3 and 4 ruled out; tokens 0..2 carry the mass.
      double[] z = {p.teacher()[pos * 5], p.teacher()[pos * 5 + 1], p.teacher()[pos * 5 + 2]};
      double[] lp = LossReference.logSoftmax(z);
      for (int i = 0; i < 5; i++) {
        teacher[pos * 5 + i] = i < 3 ? (float) lp[i] : Float.NEGATIVE_INFINITY;
      }
    }
    Problem ruledOut = p.withTeacher(teacher);
    for (TopKData top :
        new TopKData[] {null, LossFixtures.topK(ruledOut, 3), LossFixtures.topK(ruledOut, 4)}) {
      Result r = evaluate(d, ruledOut, top);
      String mode = top == null ? "full" : "top-" + top.k();
      for (float v : r.values()) {
        assertTrue(Float.isFinite(v), mode + " value " + v);
      }
      for (float g : r.gradient()) {
        assertTrue(Float.isFinite(g), mode + " gradient " + g);
      }
      assertAllClose(referenceValues(d, ruledOut, top), r.values(), 1e-5, 1e-5, mode + " value");
      assertAllClose(
          LossFixtures.referenceGradient(d, ruledOut, top),
          r.gradient(),
          1e-4,
          1e-4,
          mode + " gradient");
    }
  }

  /**
   * Masked positions contribute exactly 0 to the value and the gradient whatever they hold: finite
   * garbage in the student's logits up to the documented |logit / τ| ≤ 1e30, −∞ and
   * non-distributions (up to ±1e30) in the teacher's log-probs.
   */
  @ParameterizedTest(name = "{0} at tau {1}")
  @MethodSource("divergencesAndTemperatures")
  void maskedPositions_contributeExactlyZeroValueAndGradient(Divergence d, float tau) {
    Problem clean = LossFixtures.random(400, 2, 3, 5, tau, 2.0).withMask(1, 0, 1, 0, 0, 1);
    float[] logits = clean.logits().clone();
    float[] teacher = clean.teacher().clone();
    float[][] garbageLogits = {
      {1e30f, -1e30f, 0f, 3f, -3f}, {80f, 80f, -80f, 0f, 1e4f}, {0f, 0f, 0f, 0f, 0f}
    };
    float[][] garbageTeacher = {
      {Float.NEGATIVE_INFINITY, 0f, 5f, -1e30f, 1e30f},
      {
        Float.NEGATIVE_INFINITY,
        Float.NEGATIVE_INFINITY,
        Float.NEGATIVE_INFINITY,
        Float.NEGATIVE_INFINITY,
        Float.NEGATIVE_INFINITY
      },
      {100f, 200f, -200f, 0f, 0f}
    };
    int[] masked = {1, 3, 4};
    for (int j = 0; j < masked.length; j++) {
      System.arraycopy(garbageLogits[j], 0, logits, masked[j] * 5, 5);
      System.arraycopy(garbageTeacher[j], 0, teacher, masked[j] * 5, 5);
    }
    Problem dirty = clean.withLogits(logits).withTeacher(teacher);
    Result reference = evaluate(d, clean, null);
    Result full = evaluate(d, dirty, null);
    Result top = evaluate(d, dirty, LossFixtures.topK(dirty, 2));
    for (Result r : new Result[] {full, top}) {
      for (int pos : masked) {
        assertEquals(0f, Math.abs(r.values()[pos]), "value at masked position " + pos);
        for (int i = 0; i < 5; i++) {
          assertEquals(
              0f, Math.abs(r.gradient()[pos * 5 + i]), "gradient at masked position " + pos);
        }
      }
    }
    // The unmasked positions do not see the garbage.
    for (int pos : new int[] {0, 2, 5}) {
      assertEquals(reference.values()[pos], full.values()[pos], "value at position " + pos);
      for (int i = 0; i < 5; i++) {
        assertEquals(reference.gradient()[pos * 5 + i], full.gradient()[pos * 5 + i]);
      }
    }
  }

  /** Doubling τ with logits and teacher log-probs that are the same distributions quadruples. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.graft.trainer.loss.LossFixtures#divergences")
  void value_scalesWithTauSquared(Divergence d) {
    Problem one = LossFixtures.random(500, 1, 3, 6, 1f, 2.0);
    float[] doubled = one.logits().clone();
    for (int i = 0; i < doubled.length; i++) {
      doubled[i] *= 2;
    }
    Problem two = new Problem(1, 3, 6, 2f, doubled, one.teacher(), one.mask());
    float[] v1 = evaluate(d, one, null).values();
    float[] v2 = evaluate(d, two, null).values();
    for (int pos = 0; pos < 3; pos++) {
      assertEquals(4 * v1[pos], v2[pos], 1e-5 * Math.abs(v2[pos]) + 1e-6);
    }
  }
}
