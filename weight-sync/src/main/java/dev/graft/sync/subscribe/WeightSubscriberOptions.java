package dev.graft.sync.subscribe;

import dev.graft.service.Backoff;
import dev.graft.service.HostPort;
import dev.graft.service.TransportSecurity;
import dev.graft.sync.PolicyBytes;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Validated settings of a {@link WeightSubscriber}.
 *
 * @param installer where verified versions go
 * @param backoff the wait before a retry or reconnect: it doubles per failure, up to a maximum
 * @param maxAttemptsPerVersion tries of one version for a retryable failure before waiting for a
 *     newer version (&gt;= 1)
 * @param manifestDeadline deadline of a GetManifest call
 * @param fetchDeadline deadline of a whole FetchWeights stream
 * @param watchRenewal deadline of a WatchVersions stream; it is reopened at once when reached
 * @param sleeper how to wait between attempts
 * @param nanoTicker monotonic nanoseconds, for sync durations
 * @param listener hears every install and rejection
 */
public record WeightSubscriberOptions(PolicyInstaller installer, Backoff backoff,
    int maxAttemptsPerVersion, Duration manifestDeadline,
    Duration fetchDeadline, Duration watchRenewal, Backoff.Sleeper sleeper,
    LongSupplier nanoTicker, SyncListener listener) {

  public WeightSubscriberOptions {
    if (installer == null || backoff == null || sleeper == null || nanoTicker == null || listener == null) {
      throw new IllegalArgumentException("installer, backoff, sleeper, ticker and listener are required");
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

  /** Collects the trainer's address and settings, then builds a {@link WeightSubscriber}. */
  public static final class Builder {
    private HostPort endpoint;
    private Channel channel;
    private PolicyInstaller installer;
    private Duration initialBackoff = Duration.ofMillis(100);
    private Duration maxBackoff = Duration.ofSeconds(10);
    private int maxAttemptsPerVersion = 3;
    private Duration manifestDeadline = Duration.ofSeconds(30);
    private Duration fetchDeadline = Duration.ofMinutes(10);
    private Duration watchRenewal = Duration.ofMinutes(10);
    private Backoff.Sleeper sleeper = Backoff.Sleeper.SYSTEM;
    private LongSupplier nanoTicker = System::nanoTime;
    private SyncListener listener = new SyncListener() {};
    private final List<ClientInterceptor> interceptors = new ArrayList<>();
    private TransportSecurity security = TransportSecurity.plaintext();

    /** The trainer as {@code host:port}; the subscriber creates and owns the channel. */
    public Builder endpoint(String hostPort) {
      this.endpoint = HostPort.parse(hostPort);
      return this;
    }

    /**
     * How the channel to {@link #endpoint} is secured (default: plaintext, for loopback); under
     * TLS the trainer serves weights only to a client certificate on its allow-list.
     */
    public Builder security(TransportSecurity s) {
      this.security = java.util.Objects.requireNonNull(s, "security");
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

    public Builder sleeper(Backoff.Sleeper s) {
      this.sleeper = s;
      return this;
    }

    public Builder nanoTicker(LongSupplier t) {
      this.nanoTicker = t;
      return this;
    }

    /**
     * Adds {@code interceptor} to the channel the subscriber opens for {@link #endpoint} (for
     * example the sampler's metrics); a {@link #channel} given is the caller's and stays as it is.
     */
    public Builder intercept(ClientInterceptor interceptor) {
      if (interceptor == null) {
        throw new IllegalArgumentException("a client interceptor must not be null");
      }
      interceptors.add(interceptor);
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
      WeightSubscriberOptions options = new WeightSubscriberOptions(installer,
          new Backoff(initialBackoff, maxBackoff), maxAttemptsPerVersion, manifestDeadline,
          fetchDeadline, watchRenewal, sleeper, nanoTicker, listener);
      if (endpoint == null) {
        return new WeightSubscriber(options, channel, null, null);
      }
      TransportSecurity.Opened<ChannelCredentials> credentials = security.openClient();
      ManagedChannel owned = Grpc.newChannelBuilder(endpoint.toString(), credentials.credentials())
          .maxInboundMessageSize(PolicyBytes.MAX_CHUNK_BYTES + 1024).intercept(interceptors).build();
      return new WeightSubscriber(options, owned, owned, credentials);
    }
  }
}
