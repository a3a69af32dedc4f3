package dev.graft.service;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Calls one of several stateless replicas round-robin. UNAVAILABLE and RESOURCE_EXHAUSTED are
 * retried on the next replica after an exponential backoff (initial · 2^(attempt − 1), capped);
 * INVALID_ARGUMENT becomes {@link IllegalArgumentException} with the server's description; any
 * other status, or running out of attempts, becomes the caller's "unavailable" exception.
 */
public final class ReplicaRetry {

  /** How to wait between attempts; tests inject one that does not sleep. */
  @FunctionalInterface
  public interface Sleeper {
    void sleep(Duration duration) throws InterruptedException;
  }

  private final String role;
  private final List<ManagedChannel> channels;
  private final List<String> names;
  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Sleeper sleeper;
  private final BiFunction<String, Throwable, RuntimeException> unavailable;
  private final AtomicInteger next = new AtomicInteger();

  /**
   * @param role what the replicas are, for messages ("teacher", "sampler")
   * @param unavailable makes the caller's exception from a message and a cause (may be null)
   */
  public ReplicaRetry(String role, List<ManagedChannel> channels, List<String> names, int maxAttempts,
      Duration initialBackoff, Duration maxBackoff, Sleeper sleeper,
      BiFunction<String, Throwable, RuntimeException> unavailable) {
    if (channels.isEmpty() || channels.size() != names.size()) {
      throw new IllegalArgumentException("need one name per replica channel, and at least one channel");
    }
    this.role = role;
    this.channels = List.copyOf(channels);
    this.names = List.copyOf(names);
    this.maxAttempts = maxAttempts;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
    this.sleeper = sleeper;
    this.unavailable = unavailable;
  }

  /** Runs {@code call} on the next replica, retrying as described above. */
  public <T> T call(String rpc, Function<ManagedChannel, T> call) {
    StatusRuntimeException last = null;
    List<String> tried = new ArrayList<>();
    for (int attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) {
        backoff(attempt, rpc);
      }
      int i = Math.floorMod(next.getAndIncrement(), channels.size());
      try {
        return call.apply(channels.get(i));
      } catch (StatusRuntimeException e) {
        Status.Code code = e.getStatus().getCode();
        if (code == Status.Code.INVALID_ARGUMENT) {
          throw new IllegalArgumentException(e.getStatus().getDescription(), e);
        }
        if (code != Status.Code.UNAVAILABLE && code != Status.Code.RESOURCE_EXHAUSTED) {
          throw unavailable.apply(
              rpc + " on " + role + " " + names.get(i) + " failed: " + describe(e.getStatus()), e);
        }
        last = e;
        tried.add(names.get(i) + " " + code);
      }
    }
    throw unavailable.apply(rpc + " failed after " + maxAttempts + " attempts ("
        + String.join(", ", tried) + "); last: " + describe(last.getStatus()), last);
  }

  private void backoff(int attempt, String rpc) {
    long initial = initialBackoff.toNanos();
    long nanos = Math.min(maxBackoff.toNanos(), initial << Math.min(attempt - 1, 30));
    try {
      sleeper.sleep(Duration.ofNanos(nanos));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw unavailable.apply("interrupted while retrying " + rpc, e);
    }
  }

  /** A status as {@code CODE (description)}. */
  public static String describe(Status s) {
    return s.getCode() + (s.getDescription() == null ? "" : " (" + s.getDescription() + ")");
  }
}
