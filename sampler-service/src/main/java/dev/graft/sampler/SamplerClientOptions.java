package dev.graft.sampler;

import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Validated settings of a {@link SamplerClient}.
 *
 * @param deadline the deadline of every call (a Generate call covers every rollout)
 * @param maxAttempts attempts per call across replicas (&ge; 1) for UNAVAILABLE and
 *     RESOURCE_EXHAUSTED
 * @param initialBackoff the wait before the second attempt; it doubles per attempt
 * @param maxBackoff the longest wait between attempts
 * @param sleeper how to wait
 */
public record SamplerClientOptions(Duration deadline, int maxAttempts, Duration initialBackoff,
    Duration maxBackoff, SamplerClient.Sleeper sleeper) {

  public SamplerClientOptions {
    if (deadline == null || deadline.isNegative() || deadline.isZero()) {
      throw new IllegalArgumentException("deadline (" + deadline + ") must be > 0");
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("max attempts (" + maxAttempts + ") must be >= 1");
    }
    if (initialBackoff == null || initialBackoff.isNegative() || maxBackoff == null
        || maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException("backoff must satisfy 0 <= initial (" + initialBackoff
          + ") <= max (" + maxBackoff + ")");
    }
    if (sleeper == null) {
      throw new IllegalArgumentException("a sleeper is required");
    }
  }

  /** Collects endpoints (or channels) and settings, then builds a {@link SamplerClient}. */
  public static final class Builder {
    private final List<String> endpoints = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();
    private Duration deadline = Duration.ofMinutes(5);
    private int maxAttempts = 5;
    private Duration initialBackoff = Duration.ofMillis(50);
    private Duration maxBackoff = Duration.ofSeconds(2);
    private SamplerClient.Sleeper sleeper = d -> Thread.sleep(d.toMillis(), d.toNanosPart() % 1_000_000);

    /** Replicas as {@code host:port}; the client creates and owns their channels. */
    public Builder endpoints(List<String> hostPorts) {
      for (String e : hostPorts) {
        int colon = e.lastIndexOf(':');
        if (colon <= 0 || colon == e.length() - 1) {
          throw new IllegalArgumentException(
              "sampler endpoint '" + e + "' must be host:port, e.g. localhost:50052");
        }
        endpoints.add(e);
      }
      return this;
    }

    /** Replicas as existing channels (for example in-process); the caller closes them. */
    public Builder channels(List<ManagedChannel> existing) {
      channels.addAll(existing);
      return this;
    }

    public Builder deadline(Duration d) {
      this.deadline = d;
      return this;
    }

    public Builder maxAttempts(int n) {
      this.maxAttempts = n;
      return this;
    }

    public Builder backoff(Duration initial, Duration max) {
      this.initialBackoff = initial;
      this.maxBackoff = max;
      return this;
    }

    public Builder sleeper(SamplerClient.Sleeper s) {
      this.sleeper = s;
      return this;
    }

    /**
     * @throws IllegalArgumentException if there is no replica, both endpoints and channels are
     *     given, or a setting is invalid
     */
    public SamplerClient build() {
      if (endpoints.isEmpty() == channels.isEmpty()) {
        throw new IllegalArgumentException(
            "a sampler client needs endpoints or channels (exactly one of the two, non-empty)");
      }
      SamplerClientOptions options = new SamplerClientOptions(deadline, maxAttempts,
          initialBackoff, maxBackoff, sleeper);
      if (!channels.isEmpty()) {
        List<String> names = channels.stream().map(ManagedChannel::authority).toList();
        return new SamplerClient(channels, false, names, options);
      }
      List<ManagedChannel> created = endpoints.stream().map(SamplerClient::channel).toList();
      return new SamplerClient(created, true, endpoints, options);
    }
  }
}
