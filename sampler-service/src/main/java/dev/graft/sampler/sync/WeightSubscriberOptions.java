package dev.graft.sampler.sync;

import io.grpc.Channel;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Validated settings of a {@link WeightSubscriber}.
 *
 * @param installer where verified versions go
 * @param initialBackoff the first wait before a retry or reconnect; it doubles per failure
 * @param maxBackoff the longest wait
 * @param maxAttemptsPerVersion tries of one version for a retryable failure before waiting for a
 *     newer version (&gt;= 1)
 * @param manifestDeadline deadline of a GetManifest call
 * @param fetchDeadline deadline of a whole FetchWeights stream
 * @param watchRenewal deadline of a WatchVersions stream; it is reopened at once when reached
 * @param sleeper how to wait between attempts
 * @param nanoTicker monotonic nanoseconds, for sync durations
 * @param listener hears every install and rejection
 */
public record WeightSubscriberOptions(PolicyInstaller installer, Duration initialBackoff,
    Duration maxBackoff, int maxAttemptsPerVersion, Duration manifestDeadline,
    Duration fetchDeadline, Duration watchRenewal, WeightSubscriber.Sleeper sleeper,
    LongSupplier nanoTicker, SyncListener listener) {

  public WeightSubscriberOptions {
    if (installer == null || sleeper == null || nanoTicker == null || listener == null) {
      throw new IllegalArgumentException("installer, sleeper, ticker and listener are required");
    }
    if (initialBackoff == null || initialBackoff.isNegative() || maxBackoff == null
        || maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException("backoff must satisfy 0 <= initial (" + initialBackoff
          + ") <= max (" + maxBackoff + ")");
    }
    if (maxAttemptsPerVersion < 1) {
      throw new IllegalArgumentException(
          "max attempts per version (" + maxAttemptsPerVersion + ") must be >= 1");
    }
    positive("manifest deadline", manifestDeadline);
    positive("fetch deadline", fetchDeadline);
    positive("watch renewal", watchRenewal);
  }

  private static void positive(String what, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + " (" + d + ") must be > 0");
    }
  }

  /** The wait before retry number {@code failures} (&gt;= 1): initial doubling, capped. */
  Duration backoff(int failures) {
    long nanos = initialBackoff.toNanos() << Math.min(Math.max(failures - 1, 0), 30);
    return nanos < 0 || nanos > maxBackoff.toNanos() ? maxBackoff : Duration.ofNanos(nanos);
  }

  /** Collects the trainer's address and settings, then builds a {@link WeightSubscriber}. */
  public static final class Builder {
    private String endpoint;
    private Channel channel;
    private PolicyInstaller installer;
    private Duration initialBackoff = Duration.ofMillis(100);
    private Duration maxBackoff = Duration.ofSeconds(10);
    private int maxAttemptsPerVersion = 3;
    private Duration manifestDeadline = Duration.ofSeconds(30);
    private Duration fetchDeadline = Duration.ofMinutes(10);
    private Duration watchRenewal = Duration.ofMinutes(10);
    private WeightSubscriber.Sleeper sleeper =
        d -> Thread.sleep(d.toMillis(), d.toNanosPart() % 1_000_000);
    private LongSupplier nanoTicker = System::nanoTime;
    private SyncListener listener = new SyncListener() {};

    /** The trainer as {@code host:port}; the subscriber creates and owns the channel. */
    public Builder endpoint(String hostPort) {
      int colon = hostPort == null ? -1 : hostPort.lastIndexOf(':');
      if (colon <= 0 || colon == hostPort.length() - 1) {
        throw new IllegalArgumentException(
            "trainer endpoint '" + hostPort + "' must be host:port, e.g. trainer:50053");
      }
      this.endpoint = hostPort;
      return this;
    }

    /** The trainer as an existing channel (for example in-process); the caller closes it. */
    public Builder channel(Channel existing) {
      this.channel = existing;
      return this;
    }

    public Builder installer(PolicyInstaller i) {
      this.installer = i;
      return this;
    }

    public Builder backoff(Duration initial, Duration max) {
      this.initialBackoff = initial;
      this.maxBackoff = max;
      return this;
    }

    public Builder maxAttemptsPerVersion(int n) {
      this.maxAttemptsPerVersion = n;
      return this;
    }

    public Builder deadlines(Duration manifest, Duration fetch) {
      this.manifestDeadline = manifest;
      this.fetchDeadline = fetch;
      return this;
    }

    public Builder watchRenewal(Duration d) {
      this.watchRenewal = d;
      return this;
    }

    public Builder sleeper(WeightSubscriber.Sleeper s) {
      this.sleeper = s;
      return this;
    }

    public Builder nanoTicker(LongSupplier t) {
      this.nanoTicker = t;
      return this;
    }

    public Builder listener(SyncListener l) {
      this.listener = l;
      return this;
    }

    /** A subscriber that has not started; call {@link WeightSubscriber#start()}. */
    public WeightSubscriber build() {
      if ((endpoint == null) == (channel == null)) {
        throw new IllegalArgumentException("give exactly one of endpoint(...) or channel(...)");
      }
      WeightSubscriberOptions options = new WeightSubscriberOptions(installer, initialBackoff,
          maxBackoff, maxAttemptsPerVersion, manifestDeadline, fetchDeadline, watchRenewal,
          sleeper, nanoTicker, listener);
      ManagedChannel owned = endpoint == null ? null
          : Grpc.newChannelBuilder(endpoint, InsecureChannelCredentials.create())
              .maxInboundMessageSize(WeightChunker.MAX_CHUNK_BYTES + 1024).build();
      return new WeightSubscriber(options, owned != null ? owned : channel, owned);
    }
  }
}
