package dev.graft.trainer.distill;

/**
 * Progress of one step.
 *
 * @param teacherWaitSeconds time the training thread waited for its batches' targets so far
 * @param policyVersion the newest published policy version; -1 when off-policy
 * @param oldestRolloutVersion the oldest version any rollout of this step came from; -1 without
 *     on-policy rows
 * @param staleRolloutsDropped rollouts discarded for exceeding the policy lag, so far
 */
public record StepStats(long step, double loss, double lr, double gradNorm, double tokensPerSecond,
    double meanAlpha, double teacherWaitSeconds, long policyVersion, long oldestRolloutVersion,
    long staleRolloutsDropped) {

  /** Stats of an off-policy step. */
  public StepStats(long step, double loss, double lr, double gradNorm, double tokensPerSecond,
      double meanAlpha, double teacherWaitSeconds) {
    this(step, loss, lr, gradNorm, tokensPerSecond, meanAlpha, teacherWaitSeconds, -1, -1, 0);
  }
}
