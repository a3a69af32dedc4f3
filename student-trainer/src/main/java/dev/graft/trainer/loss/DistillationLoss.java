package dev.graft.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.Scalars;

/**
 * Distillation losses: a {@link Divergence} between the teacher's next-token distribution p and
 * the student's q at each position, summed over unmasked positions. Callers divide the sum by the
 * number of unmasked positions in the whole batch, so a batch's loss does not depend on how it is
 * split into micro-batches.
 *
 * <p><b>Temperature.</b> The student's logits are divided by τ; the teacher's log-probs must
 * already be at τ, {@code log_softmax(teacherLogits / τ)}. The result is multiplied by τ² (Hinton
 * et al., 2015): the gradient of a divergence at temperature τ wrt the raw logits scales as 1/τ²
 * for large τ, and the factor keeps its size comparable across temperatures and with the
 * cross-entropy baseline.
 *
 * <p><b>Two teacher modes.</b> With {@link TeacherTargets.Full} the divergence is taken over the
 * whole vocabulary. With {@link TeacherTargets.TopK} both distributions are first collapsed onto
 * k + 1 buckets: the teacher's top-k tokens and one tail bucket (the student's tail is its mass
 * outside the teacher's top-k, computed without cancellation, see {@link Buckets}); the divergence
 * is taken between those bucket distributions.
 *
 * <p><b>Exactness</b> (minimal iff student ≡ teacher):
 *
 * <table>
 *   <caption>which losses are exact in which mode</caption>
 *   <tr><th>divergence</th><th>full (B, T, V)</th><th>top-k + tail, k &lt; V</th>
 *       <th>top-k + tail, k = V</th></tr>
 *   <tr><td>forward_kl, reverse_kl, jsd:β, skew_kl:α, tv</td><td>exact: 0 iff q = p</td>
 *       <td>lower bound on the full value (data-processing inequality); 0 when q = p, but also
 *       for every student that matches the teacher's top-k probabilities and tail mass and differs
 *       only in how it spreads its tail: not exact</td><td>exact (equals full)</td></tr>
 *   <tr><td>ce</td><td colspan="3">no teacher; see {@link TokenLoss}</td></tr>
 * </table>
 *
 * <p>In top-k mode the gradient of forward KL wrt the student's (scaled) logits is still exact on
 * the top-k coordinates, q_j − p_j, as in full mode; on tail coordinates it is
 * q_j·(1 − p_tail / q_tail) instead of q_j − p_j.
 *
 * <p><b>Numerics.</b> Teacher log-probs below log(Float.MIN_NORMAL) ≈ −87.3, including −∞ (an
 * empty tail, a ruled-out token), are raised to that floor, and those above 0 lowered to 0, so
 * every loss and gradient stays finite; in particular reverse KL against an empty teacher tail is
 * large (≈ q_tail·87) rather than +∞. Student logits must be finite with |logit / τ| ≤ 1e30,
 * far beyond any real logit, so that no sum over the vocabulary overflows float32. Values at
 * masked positions may be anything that satisfies this (and −∞ or any finite value in the
 * teacher's log-probs; top-k ids must still lie in [0, V)); they contribute 0 to the loss and 0 to
 * its gradient.
 *
 * <p><b>Memory.</b> log_softmax of the student is computed once; full mode adds the divergence's
 * elementwise (B, T, V) terms, top-k mode two more (B, T, V) arrays for the student's tail mass and
 * otherwise works on (B, T, k + 1). Inputs are borrowed, never closed; temporaries live on the
 * inputs' managers, so call this under a per-step sub-manager.
 */
public final class DistillationLoss {

  private DistillationLoss() {}

  /**
   * The divergence at each position, zero where masked, times τ².
   *
   * @param divergence any divergence but {@link Divergence.CrossEntropy}
   * @param studentLogits (B, T, V) float32, the student's raw logits
   * @param teacher the teacher's targets at temperature τ
   * @param mask (B, T) float32, 1 where the position counts and 0 where it does not
   * @param tau the temperature, finite and &gt; 0
   * @return (B, T) float32
   * @throws IllegalArgumentException for cross-entropy, a bad τ or shapes that do not fit
   */
  public static NDArray perPosition(
      Divergence divergence,
      NDArray studentLogits,
      TeacherTargets teacher,
      NDArray mask,
      float tau) {
    check(divergence, studentLogits, teacher, mask, tau);
    Buckets buckets = Buckets.of(studentLogits, teacher, tau);
    NDArray values = BucketDivergences.perPosition(divergence, buckets).mul(mask); // (B, T)
    return tau == 1f ? values : Scalars.mul(values, tau * tau);
  }

  /**
   * The masked sum over positions of {@link #perPosition}: a scalar to divide by the whole batch's
   * number of unmasked positions.
   */
  public static NDArray sum(
      Divergence divergence,
      NDArray studentLogits,
      TeacherTargets teacher,
      NDArray mask,
      float tau) {
    return perPosition(divergence, studentLogits, teacher, mask, tau).sum();
  }

  private static void check(
      Divergence divergence, NDArray logits, TeacherTargets teacher, NDArray mask, float tau) {
    if (!divergence.usesTeacher()) {
      throw new IllegalArgumentException(
          divergence.spec() + " has no teacher; compute it with TokenLoss.crossEntropySum");
    }
    if (!(tau > 0) || Float.isInfinite(tau)) {
      throw new IllegalArgumentException("temperature tau must be finite and > 0, got " + tau);
    }
    Shape s = logits.getShape();
    if (s.dimension() != 3 || logits.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException(
          "student logits must be float32 (B, T, V), got " + logits.getDataType() + " " + s);
    }
    if (!mask.getShape().equals(new Shape(s.get(0), s.get(1)))
        || mask.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException(
          "mask must be float32 (B, T) = " + new Shape(s.get(0), s.get(1)) + ", got "
              + mask.getDataType() + " " + mask.getShape());
    }
    teacher.checkFits(s);
  }
}
