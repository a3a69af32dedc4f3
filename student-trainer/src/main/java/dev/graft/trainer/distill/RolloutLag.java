package dev.graft.trainer.distill;

/**
 * The policy lag of the rollouts a step trains on: (the step) − (the version that generated the
 * rollout), over its on-policy rows.
 *
 * @param min the freshest rollout's lag
 * @param mean the mean lag
 * @param max the stalest rollout's lag; at most {@code onpolicy.max_policy_lag}
 */
public record RolloutLag(long min, double mean, long max) {

  /** The lag of {@code versions} for a step. */
  static RolloutLag of(long step, long[] versions) {
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    double sum = 0;
    for (long v : versions) {
      long lag = step - v;
      min = Math.min(min, lag);
      max = Math.max(max, lag);
      sum += lag;
    }
    return new RolloutLag(min, sum / versions.length, max);
  }
}
