package dev.graft.kube.submit;

import java.time.Duration;

/**
 * Bounds and triggers of the sampler autoscaler.
 *
 * @param min fewest sampler replicas (the Deployment is raised to it)
 * @param max most sampler replicas
 * @param threshold scale up when the trainer waited on its batches (rollouts) more than this
 *     fraction of the last {@code window}, in (0, 1)
 * @param window the span the waiting fraction is measured over
 * @param cooldown the least time between two changes of the replica count
 */
public record AutoscalePolicy(int min, int max, double threshold, Duration window, Duration cooldown) {

  /** The trainer flags' defaults: 20% waiting over a minute, at most one change per two minutes. */
  public static final double DEFAULT_THRESHOLD = 0.2;
  public static final Duration DEFAULT_WINDOW = Duration.ofSeconds(60);
  public static final Duration DEFAULT_COOLDOWN = Duration.ofSeconds(120);

  /** @throws IllegalArgumentException naming the flag and its value for every impossible setting */
  public AutoscalePolicy {
    if (min < 1 || max < min) {
      throw new IllegalArgumentException("--autoscale-min (" + min + ") must be >= 1 and --autoscale-max (" + max
          + ") >= --autoscale-min");
    }
    if (!(threshold > 0 && threshold < 1)) {
      throw new IllegalArgumentException("--autoscale-threshold (" + threshold + ") must be in (0, 1)");
    }
    if (window == null || window.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("--autoscale-window-s (" + seconds(window) + ") must be >= 1");
    }
    if (cooldown == null || cooldown.isNegative()) {
      throw new IllegalArgumentException("--autoscale-cooldown-s (" + seconds(cooldown) + ") must be >= 0");
    }
  }

  private static String seconds(Duration d) {
    return d == null ? "null" : Long.toString(d.toSeconds());
  }

  /**
   * The replica count for {@code current} replicas when the trainer waited {@code fraction} of the
   * window: within [min, max]; above the threshold, enough replicas that the same generation
   * work would have kept up ({@code current / (1 - fraction)}, fraction capped at 0.9), and at
   * least one more.
   */
  public int target(int current, double fraction) {
    if (current < min) {
      return min;
    }
    if (current > max) {
      return max;
    }
    if (fraction <= threshold) {
      return current;
    }
    int wanted = (int) Math.ceil(current / (1 - Math.min(fraction, 0.9)));
    return Math.min(max, Math.max(current + 1, wanted));
  }
}
