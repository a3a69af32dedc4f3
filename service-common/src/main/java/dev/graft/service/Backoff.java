package dev.graft.service;

import java.time.Duration;

/**
 * Bounded exponential backoff: the wait before retry n (n &ge; 1) is
 * {@code min(max, initial · 2^(n − 1))}.
 */
public record Backoff(Duration initial, Duration max) {

  /** How waits happen; tests inject one that records instead of sleeping. */
  @FunctionalInterface
  public interface Sleeper {
    void sleep(Duration duration) throws InterruptedException;

    /** {@link Thread#sleep}. */
    Sleeper SYSTEM = d -> Thread.sleep(d.toMillis(), d.toNanosPart() % 1_000_000);
  }

  public Backoff {
    if (initial == null || initial.isNegative() || max == null || max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("backoff must satisfy 0 <= initial (" + initial
          + ") <= max (" + max + ")");
    }
  }

  /** The wait before retry {@code n}; n &lt; 1 counts as 1. */
  public Duration delay(int n) {
    long nanos = initial.toNanos() << Math.min(Math.max(n - 1, 0), 30);
    return nanos < 0 || nanos > max.toNanos() ? max : Duration.ofNanos(nanos);
  }
}
