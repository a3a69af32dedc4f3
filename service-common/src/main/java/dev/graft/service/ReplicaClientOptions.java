package dev.graft.service;

import java.time.Duration;

/**
 * Settings every client of stateless replicas shares.
 *
 * @param deadline the deadline of every call
 * @param maxAttempts attempts per call across replicas (&ge; 1) for UNAVAILABLE and
 *     RESOURCE_EXHAUSTED
 * @param backoff the wait between attempts
 * @param sleeper how to wait
 */
public record ReplicaClientOptions(Duration deadline, int maxAttempts, Backoff backoff, Backoff.Sleeper sleeper) {

  public ReplicaClientOptions {
    if (deadline == null || deadline.isNegative() || deadline.isZero()) {
      throw new IllegalArgumentException("deadline (" + deadline + ") must be > 0");
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("max attempts (" + maxAttempts + ") must be >= 1");
    }
    if (backoff == null || sleeper == null) {
      throw new IllegalArgumentException("a backoff and a sleeper are required");
    }
  }
}
