package dev.graft.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.Scalars;

/**
 * The teacher's and the student's log-distributions over the same buckets, (B, T, N): the whole
 * vocabulary (N = V) for {@link TeacherTargets.Full}, or the teacher's top-k tokens plus one tail
 * bucket (N = k + 1) for {@link TeacherTargets.TopK}.
 *
 * @param teacher log p, no gradient, every entry in [{@link #LOG_FLOOR}, 0]
 * @param student log q, differentiable wrt the student's logits, finite
 */
record Buckets(NDArray teacher, NDArray student) {

  /**
   * log(Float.MIN_NORMAL) ≈ −87.3. Teacher log-probs below it (−∞ for an empty tail or a ruled-out
   * token) are raised to it, so that p·log p is 0 rather than NaN; a mass below 1.2e-38 changes no
   * loss by a visible amount. Those above 0 are lowered to 0 (see {@link #clipped}).
   */
  static final float LOG_FLOOR = (float) Math.log(Float.MIN_NORMAL);

  /** Finite stand-in for −∞ on logits; exp of anything near it is 0 in float32. */
  private static final float MASKED = -1e30f;

  /**
   * Builds both log-distributions at temperature τ.
   *
   * @param logits the student's logits (B, T, V)
   * @param teacher the teacher's targets, already at temperature τ
   * @param tau the temperature the student's logits are divided by
   */
  static Buckets of(NDArray logits, TeacherTargets teacher, float tau) {
    NDArray scaled = tau == 1f ? logits : Scalars.div(logits, tau); // (B, T, V)
    NDArray logq = scaled.logSoftmax(2); // (B, T, V)
    if (teacher instanceof TeacherTargets.Full full) {
      return new Buckets(clipped(full.logProbs()), logq);
    }
    TeacherTargets.TopK topK = (TeacherTargets.TopK) teacher;
    NDArray teacherLog =
        topK.logProbs().concat(topK.logTail().expandDims(2), 2); // (B, T, k + 1)
    NDArray studentTop = logq.gather(topK.ids(), 2); // (B, T, k)
    NDArray studentTail = studentLogTail(scaled, logq, topK); // (B, T, 1)
    return new Buckets(clipped(teacherLog), studentTop.concat(studentTail, 2));
  }

  /**
   * log of the student's mass outside the teacher's top-k, log Σ_{j ∉ top-k} q_j, computed without
   * cancellation: with z the scaled logits and z' the same with the top-k masked out,
   * log Σ_{tail} q = logsumexp(z') − logsumexp(z) = log q_j − log_softmax(z')_j for any tail j.
   * Taking j = argmax z' keeps both terms well scaled however small the tail is, and the gradient
   * wrt z is (q_j / q_tail on tail coordinates, 0 on top-k) − q, bounded by 1 even as q_tail → 0.
   * The shortcut log(1 − Σ_{top-k} q) cancels catastrophically in float32 once q_tail < 1e-7 and
   * would need a clamp, which zeroes the gradient exactly where the student's tail needs it.
   */
  private static NDArray studentLogTail(NDArray scaled, NDArray logq, TeacherTargets.TopK topK) {
    NDManager manager = scaled.getManager();
    Shape s = scaled.getShape();
    if (topK.k() == s.get(2)) {
      // Every token is explicit: the tail is empty for the student too.
      return manager.full(new Shape(s.get(0), s.get(1), 1), LOG_FLOOR);
    }
    NDArray masks = manager.full(topK.ids().getShape(), MASKED); // (B, T, k)
    NDArray tailLogits = scaled.scatter(topK.ids(), masks, 2); // (B, T, V)
    NDArray pick = tailLogits.stopGradient().argMax(2).expandDims(2); // (B, T, 1)
    NDArray tailLogSoftmax = tailLogits.logSoftmax(2).gather(pick, 2); // (B, T, 1)
    return logq.gather(pick, 2).sub(tailLogSoftmax); // (B, T, 1)
  }

  /**
   * The teacher's log-probs in [LOG_FLOOR, 0]. The ceiling changes no real log-probability (at most
   * rounding above 0) but keeps exp(log p) ≤ 1: a masked position may hold any finite value, and
   * one above ≈ 88 would overflow to ∞, and ∞ · mask 0 is NaN in the loss and its gradient.
   */
  private static NDArray clipped(NDArray teacherLog) {
    return teacherLog.clip(LOG_FLOOR, 0f);
  }
}
