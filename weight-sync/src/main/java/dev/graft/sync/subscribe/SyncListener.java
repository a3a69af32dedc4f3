package dev.graft.sync.subscribe;

import java.time.Duration;

/**
 * Hears what a {@link WeightSubscriber} did with each version, on its sync thread; for metrics,
 * logs and tests. Must not block. Both methods default to doing nothing.
 */
public interface SyncListener {

  /** {@code version} was verified and installed; {@code took} is from first request to swap. */
  default void installed(long version, Duration took, long bytes) {}

  /** {@code version} was refused for {@code reason}; the sampler keeps the version it had. */
  default void rejected(long version, RejectReason reason, String message) {}

  /** The trainer started a new run ({@code newEpoch}): the policy of {@code oldEpoch} was dropped. */
  default void retired(long oldEpoch, long newEpoch) {}
}
