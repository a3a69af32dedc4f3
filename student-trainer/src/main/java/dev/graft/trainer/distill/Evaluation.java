package dev.graft.trainer.distill;

import java.util.Locale;

/**
 * One held-out evaluation of the student as it was after {@code step}.
 *
 * <p>During the α ramp some layers still mix the teacher's keys and values into the student's
 * ({@code meanAlpha < 1}): such an evaluation scores a <em>blended</em> model that will not ship,
 * and its KL is flattered by the teacher's share. Only an evaluation with every α at 1 describes
 * the exported student; the run's headline is the final one, which always is.
 *
 * @param step the training step after which the student was scored (0 = before training)
 * @param meanAlpha mean α over the retrofitted units when scored
 * @param result the metrics, overall and per domain
 */
public record Evaluation(long step, double meanAlpha, DistillEvaluator.Result result) {

  public Evaluation {
    if (!(meanAlpha >= 0 && meanAlpha <= 1)) {
      throw new IllegalArgumentException("mean alpha (" + meanAlpha + ") must be in [0, 1]");
    }
  }

  /** Whether some unit was below α = 1: the scored model is not the student that ships. */
  public boolean blended() {
    return blended(meanAlpha);
  }

  /** Whether an evaluation at {@code meanAlpha} scored a blended model. */
  public static boolean blended(double meanAlpha) {
    return meanAlpha < 1;
  }

  /**
   * "blended (mean alpha 0.62)" for a mid-ramp evaluation, "alpha = 1" otherwise (ASCII, for
   * consoles). The mean is rounded down, so a blended model never reads as 1.00.
   */
  public String label() {
    return label(meanAlpha);
  }

  /**
   * What a console line about an evaluation at {@code meanAlpha} appends to its subject:
   * " [blended (mean alpha 0.62): not the student that ships]" when blended, else nothing.
   */
  public static String caveat(double meanAlpha) {
    return blended(meanAlpha) ? " [" + label(meanAlpha) + ": not the student that ships]" : "";
  }

  /** The label of an evaluation at {@code meanAlpha}; see {@link #label()}. */
  public static String label(double meanAlpha) {
    return blended(meanAlpha) ? String.format(Locale.ROOT, "blended (mean alpha %.2f)", Math.floor(meanAlpha * 100) / 100) : "alpha = 1";
  }
}
