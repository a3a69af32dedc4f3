package dev.graft.trainer.loss;

import ai.djl.ndarray.NDArray;
import dev.graft.model.Scalars;

/**
 * The loss of a batch some of whose rows are the teacher's own continuations (sequence-level
 * distillation, Kim and Rush 2016): on those rows' continuation positions,
 * {@code ceWeight}·cross-entropy on the teacher's tokens (the rows' next tokens) plus
 * {@code klWeight}·the run's divergence against the teacher's distributions; on every other
 * position the run's own loss (its divergence, or cross-entropy for a {@code ce} run). Returns a
 * sum, like {@link DistillationLoss} and {@link TokenLoss}; callers divide by the batch's number of
 * unmasked positions.
 */
public final class SeqKdLoss {

  private SeqKdLoss() {}

  /**
   * @param divergence the run's objective
   * @param logits (B, T, V) float32, the student's raw logits
   * @param teacher the teacher's targets at temperature τ; may be null when the divergence uses no teacher
   * @param targets (B, T) int64 next-token ids (on continuation rows: the teacher's tokens)
   * @param base (B, T) float32 weights of the positions that take the run's own loss (corpus and
   *     on-policy rows), 0 elsewhere
   * @param continuation (B, T) float32, 1 at the positions that predict the teacher's continuation
   *     tokens, 0 elsewhere (prompts, padding, other rows)
   * @param ceWeight weight of the cross-entropy on the teacher's tokens, &gt;= 0
   * @param klWeight weight of the divergence on the continuation positions, &gt;= 0
   * @param tau the divergence's temperature
   * @return a scalar
   * @throws IllegalArgumentException for a negative weight, or {@code klWeight > 0} with a
   *     divergence that uses no teacher
   */
  public static NDArray sum(Divergence divergence, NDArray logits, TeacherTargets teacher, NDArray targets,
      NDArray base, NDArray continuation, double ceWeight, double klWeight, float tau) {
    if (!(ceWeight >= 0) || !(klWeight >= 0)) {
      throw new IllegalArgumentException("seqkd weights must be >= 0, got ce " + ceWeight + " and kl " + klWeight);
    }
    if (!divergence.usesTeacher()) {
      if (klWeight > 0) {
        throw new IllegalArgumentException("seqkd.kl_weight " + klWeight + " needs a divergence that uses the"
            + " teacher, not " + divergence.spec());
      }
      return TokenLoss.crossEntropySum(logits, targets, base.add(Scalars.mul(continuation, (float) ceWeight)));
    }
    NDArray onDivergence = klWeight == 0 ? base : base.add(Scalars.mul(continuation, (float) klWeight));
    NDArray total = DistillationLoss.sum(divergence, logits, teacher, onDivergence, tau);
    return ceWeight == 0 ? total
        : total.add(TokenLoss.crossEntropySum(logits, targets, Scalars.mul(continuation, (float) ceWeight)));
  }
}
