package dev.graft.trainer.distill;

/**
 * Progress of one step.
 *
 * @param teacherWaitSeconds time the training thread waited for its batches' targets so far
 * @param policyVersion the newest published policy version; -1 when off-policy
 * @param lag the policy lag of the rollouts this step trained on; null without rollout rows
 * @param staleRolloutsDropped rollouts discarded for exceeding the policy lag, so far
 * @param foreignRolloutsDropped rollouts discarded for coming from another run or an unpublished
 *     version, so far
 * @param fallbackRows on-policy rows trained on corpus text because samplers were unavailable,
 *     so far
 * @param tokens the tokens (target positions) this step trained on
 */
public record StepStats(long step, double loss, double lr, double gradNorm, double tokensPerSecond,
    double meanAlpha, double teacherWaitSeconds, long policyVersion, RolloutLag lag,
    long staleRolloutsDropped, long foreignRolloutsDropped, long fallbackRows, long tokens) {

  /** Stats of an off-policy step that trained on {@code tokens} tokens. */
  public StepStats(long step, double loss, double lr, double gradNorm, double tokensPerSecond,
      double meanAlpha, double teacherWaitSeconds, long tokens) {
    this(step, loss, lr, gradNorm, tokensPerSecond, meanAlpha, teacherWaitSeconds, -1, null, 0, 0, 0, tokens);
  }

  /** The oldest policy version this step's rollouts came from; -1 without rollout rows. */
  public long oldestRolloutVersion() {
    return lag == null ? -1 : step - lag.max();
  }
}
