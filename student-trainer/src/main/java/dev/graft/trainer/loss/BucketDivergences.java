package dev.graft.trainer.loss;

import ai.djl.ndarray.NDArray;
import dev.graft.model.Scalars;

/**
 * Each divergence between two log-distributions over the buckets of the last axis, (B, T, N) →
 * (B, T). Constants enter through {@link Scalars} or tensors made on the input's manager, never
 * through DJL's Number overloads, because the results are differentiated.
 */
final class BucketDivergences {

  /**
   * Differences |p − q| smaller than this fraction of p + q count as float32 noise in total
   * variation: they contribute neither value (at most this fraction of the loss) nor gradient, so
   * a student equal to its teacher gets the zero subgradient rather than the sign of a rounding
   * error.
   */
  static final float TV_NOISE = 1e-5f;

  private BucketDivergences() {}

  /**
   * Per-position divergence, summed over buckets.
   *
   * @param d a divergence that uses a teacher
   * @param b the teacher's and the student's log-distributions (B, T, N)
   * @return (B, T)
   */
  static NDArray perPosition(Divergence d, Buckets b) {
    NDArray lp = b.teacher();
    NDArray lq = b.student();
    if (d instanceof Divergence.ForwardKl) {
      return forwardKl(lp, lq);
    } else if (d instanceof Divergence.ReverseKl) {
      return forwardKl(lq, lp);
    } else if (d instanceof Divergence.Jsd jsd) {
      return jsd(lp, lq, (float) jsd.beta());
    } else if (d instanceof Divergence.SkewKl skew) {
      float alpha = (float) skew.alpha();
      return alpha == 0 ? forwardKl(lp, lq) : forwardKl(lp, logMix(lp, lq, alpha));
    } else if (d instanceof Divergence.TotalVariation) {
      return totalVariation(lp, lq);
    }
    throw new IllegalArgumentException(
        d.spec() + " compares with data tokens, not a teacher; use TokenLoss for it");
  }

  /** KL(a‖b) = Σ exp(la)·(la − lb). */
  private static NDArray forwardKl(NDArray la, NDArray lb) {
    return la.exp().mul(la.sub(lb)).sum(new int[] {2}); // (B, T)
  }

  /** β·KL(p‖m) + (1−β)·KL(q‖m), m = βp + (1−β)q. */
  private static NDArray jsd(NDArray lp, NDArray lq, float beta) {
    NDArray lm = logMix(lp, lq, beta); // (B, T, N)
    NDArray toTeacher = forwardKl(lp, lm);
    NDArray toStudent = forwardKl(lq, lm);
    return Scalars.mul(toTeacher, beta).add(Scalars.mul(toStudent, 1f - beta)); // (B, T)
  }

  /**
   * log(w·p + (1−w)·q) from log p and log q, as logaddexp(log w + lp, log(1−w) + lq) =
   * max + log(1 + exp(−|difference|)): never underflows to −∞ and never overflows.
   */
  private static NDArray logMix(NDArray lp, NDArray lq, float w) {
    NDArray a = lp.add(lp.getManager().create((float) Math.log(w)));
    NDArray c = lq.add(lq.getManager().create((float) Math.log1p(-w)));
    NDArray gap = a.sub(c).abs().neg(); // ≤ 0
    NDArray one = lq.getManager().create(1f);
    return a.maximum(c).add(gap.exp().add(one).log());
  }

  /** ½ Σ |p − q|, without the float32-noise differences (see {@link #TV_NOISE}). */
  private static NDArray totalVariation(NDArray lp, NDArray lq) {
    NDArray p = lp.exp();
    NDArray q = lq.exp();
    NDArray diff = p.sub(q).abs(); // (B, T, N)
    NDArray noise = Scalars.mul(p.add(q.stopGradient()), TV_NOISE);
    NDArray signal = diff.stopGradient().gt(noise).toType(diff.getDataType(), false);
    return Scalars.mul(diff.mul(signal).sum(new int[] {2}), 0.5f); // (B, T)
  }
}
