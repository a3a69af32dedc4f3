package dev.graft.trainer.distill;

import dev.graft.service.Backoff;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * How long the trainer waits for a pool of replicas to come back. A call that fails because no
 * replica could answer (the clients' own retries exhausted) is tried again after a backoff until
 * the patience runs out; meanwhile a listener hears that the run is waiting, and when it resumes.
 * A pod restart on a cluster takes longer than a client's quick retries; a run should not die of
 * it. Thread-safe for one caller at a time per instance.
 */
final class Patience {

  private final String peers;
  private final Duration patience;
  private final Backoff backoff;
  private final Backoff.Sleeper sleeper;
  private final LongSupplier nanoClock;
  private final DistillListener listener;
  private final Class<? extends RuntimeException> unavailable;

  /**
   * @param peers what is waited for, for messages ("samplers", "teachers")
   * @param patience how long to wait in all before failing
   * @param listener hears {@link DistillListener#onWaiting} and {@link DistillListener#onResumed},
   *     on the waiting thread
   * @param unavailable the failure that means "no replica answered"; others pass through at once
   */
  Patience(String peers, Duration patience, Backoff backoff, Backoff.Sleeper sleeper, LongSupplier nanoClock,
      DistillListener listener, Class<? extends RuntimeException> unavailable) {
    this.peers = peers;
    this.patience = patience;
    this.backoff = backoff;
    this.sleeper = sleeper;
    this.nanoClock = nanoClock;
    this.listener = listener;
    this.unavailable = unavailable;
  }

  /**
   * Runs {@code call}, retrying while it fails as unavailable, up to the patience.
   *
   * @throws IllegalStateException when the patience ran out, naming the peers, the time and the
   *     last failure
   */
  <T> T call(Supplier<T> call) {
    long start = -1;
    for (int attempt = 1; ; attempt++) {
      try {
        T result = call.get();
        if (start >= 0) {
          listener.onResumed(peers, seconds(start));
        }
        return result;
      } catch (RuntimeException e) {
        if (!unavailable.isInstance(e)) {
          throw e;
        }
        if (start < 0) {
          start = nanoClock.getAsLong();
        }
        double waited = seconds(start);
        if (waited >= patience.toNanos() / 1e9) {
          throw new IllegalStateException(String.format(Locale.ROOT,
              "no %s answered for %.0f s (patience %d s); last error: %s", peers, waited,
              patience.toSeconds(), e.getMessage()), e);
        }
        listener.onWaiting(peers, waited, e.getMessage());
        try {
          sleeper.sleep(backoff.delay(attempt));
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for " + peers, ie);
        }
      }
    }
  }

  private double seconds(long start) {
    return (nanoClock.getAsLong() - start) / 1e9;
  }
}
