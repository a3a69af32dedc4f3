package dev.graft.kube.submit;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Scales the sampler Deployment when the trainer waits on rollouts: at every {@link #tick} it
 * samples the trainer's {@link WaitingSignal}, measures the fraction of the last window spent
 * waiting and, above the policy's threshold, raises the replica count (bounded by the policy's
 * min and max, at most once per cooldown). It never scales down: idle samplers cost a run
 * nothing in lost steps. When the API server forbids scaling (HTTP 403) it says so once and stops.
 */
public final class SamplerAutoscaler implements AutoCloseable {

  /** What one tick did. */
  public enum Action { WARMING_UP, HOLD, COOLDOWN, SCALED, TEACHERS_MISSING, FAILED, DISABLED }

  /**
   * One tick's outcome.
   *
   * @param fraction the waiting fraction over the window; NaN while the window is not yet covered
   * @param from the replica count before; -1 when not read
   * @param to the replica count after
   */
  public record Decision(Action action, double fraction, int from, int to) {}

  private record Sample(Instant at, double waited) {}

  private final AutoscalePolicy policy;
  private final WaitingSignal signal;
  private final BooleanSupplier teachersMissing;
  private final ReplicaScaler scaler;
  private final Clock clock;
  private final PrintStream log;
  private final Deque<Sample> samples = new ArrayDeque<>();
  private Instant lastChange;
  private boolean disabled;
  private String lastFailure;
  private ScheduledExecutorService timer;

  /**
   * @param teachersMissing whether the run waits for teachers now (then it holds: samplers do not help)
   */
  public SamplerAutoscaler(AutoscalePolicy policy, WaitingSignal signal,
      BooleanSupplier teachersMissing, ReplicaScaler scaler, Clock clock, PrintStream log) {
    this.policy = policy;
    this.signal = signal;
    this.teachersMissing = teachersMissing;
    this.scaler = scaler;
    this.clock = clock;
    this.log = log;
  }

  /** Samples the signal and scales if the policy says so. */
  public synchronized Decision tick() {
    if (disabled) {
      return new Decision(Action.DISABLED, Double.NaN, -1, -1);
    }
    Instant now = clock.instant();
    samples.addLast(new Sample(now, signal.waitedSeconds()));
    Instant windowStart = now.minus(policy.window());
    // Keep the newest sample at or before the window's start: the window is measured from it.
    while (samples.size() > 1 && !second().at().isAfter(windowStart)) {
      samples.removeFirst();
    }
    Sample first = samples.peekFirst();
    double span = Duration.between(first.at(), now).toNanos() / 1e9;
    double fraction = first.at().isAfter(windowStart) || span <= 0 ? Double.NaN
        : Math.min(1, Math.max(0, (samples.peekLast().waited() - first.waited()) / span));
    int current;
    try {
      current = scaler.replicas();
      int target = policy.target(current, Double.isNaN(fraction) ? 0 : fraction);
      if (target == current) {
        return new Decision(Double.isNaN(fraction) ? Action.WARMING_UP : Action.HOLD, fraction, current, current);
      }
      if (target > current && current >= policy.min() && teachersMissing.getAsBoolean()) {
        return new Decision(Action.TEACHERS_MISSING, fraction, current, current);
      }
      if (lastChange != null && Duration.between(lastChange, now).compareTo(policy.cooldown()) < 0) {
        return new Decision(Action.COOLDOWN, fraction, current, current);
      }
      scaler.scale(target);
      lastChange = now;
      lastFailure = null;
      samples.clear(); // the next window measures the new replica count
      log.println(String.format(Locale.ROOT, "sampler autoscaler: %s %d -> %d replicas (trainer waited %s of the"
          + " last %d s; threshold %.0f%%, bounds %d..%d)", scaler.target(), current, target,
          Double.isNaN(fraction) ? "n/a" : String.format(Locale.ROOT, "%.0f%%", 100 * fraction),
          policy.window().toSeconds(), 100 * policy.threshold(), policy.min(), policy.max()));
      return new Decision(Action.SCALED, fraction, current, target);
    } catch (ReplicaScaler.Forbidden e) {
      disabled = true;
      log.println("sampler autoscaler disabled: the trainer " + e.getMessage() + ". Grant its service account get"
          + " and update on deployments/scale (graft submit --autoscale-max does), or run without"
          + " --autoscale-deployment.");
      return new Decision(Action.DISABLED, fraction, -1, -1);
    } catch (RuntimeException e) {
      if (!String.valueOf(e.getMessage()).equals(lastFailure)) {
        log.println("sampler autoscaler: " + e.getMessage() + " (retrying)");
        lastFailure = String.valueOf(e.getMessage());
      }
      return new Decision(Action.FAILED, fraction, -1, -1);
    }
  }

  private Sample second() {
    var it = samples.iterator();
    it.next();
    return it.next();
  }

  /** Ticks every {@code period} on a daemon thread until {@link #close}. */
  public synchronized void start(Duration period) {
    if (timer != null) {
      throw new IllegalStateException("the sampler autoscaler is already running");
    }
    timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sampler-autoscaler");
      t.setDaemon(true);
      return t;
    });
    timer.scheduleWithFixedDelay(this::tick, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Whether a 403 turned it off. */
  public synchronized boolean disabled() {
    return disabled;
  }

  @Override
  public synchronized void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
