package dev.graft.service;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Calls one of several stateless replicas round-robin. UNAVAILABLE, RESOURCE_EXHAUSTED and a
 * CANCELLED the caller did not ask for (a replica that went away cancelled the call: a pod deleted
 * past its grace period, a connection closed at its maximum age) are retried on the next replica —
 * for a resolved endpoint, the next replica its channel picks — after an exponential backoff
 * (initial · 2^(attempt − 1), capped);
 * INVALID_ARGUMENT becomes {@link IllegalArgumentException} with the server's description; any
 * other status, or running out of attempts, becomes the caller's "unavailable" exception.
 */
public final class ReplicaRetry {

  private final String role;
  private final List<ManagedChannel> channels;
  private final List<String> names;
  private final ReplicaClientOptions options;
  private final BiFunction<String, Throwable, RuntimeException> unavailable;
  private final AtomicInteger next = new AtomicInteger();

  /**
   * @param role what the replicas are, for messages ("teacher", "sampler")
   * @param unavailable makes the caller's exception from a message and a cause (may be null)
   */
  public ReplicaRetry(String role, Replicas replicas, ReplicaClientOptions options,
      BiFunction<String, Throwable, RuntimeException> unavailable) {
    this.role = role;
    this.channels = replicas.channels();
    this.names = replicas.names();
    this.options = options;
    this.unavailable = unavailable;
  }

  /** A call to one replica, told which one: its index in {@link Replicas#names()}. */
  @FunctionalInterface
  public interface ReplicaCall<T> {
    T apply(int replica, ManagedChannel channel);
  }

  /** Runs {@code call} on the next replica, retrying as described above. */
  public <T> T call(String rpc, Function<ManagedChannel, T> call) {
    return callReplica(rpc, (i, channel) -> call.apply(channel));
  }

  /**
   * {@link #call(String, Function)} for a call that needs to know which replica it runs on.
   * Anything but a {@link StatusRuntimeException} that the call throws ends the loop at once.
   */
  public <T> T callReplica(String rpc, ReplicaCall<T> call) {
    StatusRuntimeException last = null;
    List<String> tried = new ArrayList<>();
    for (int attempt = 0; attempt < options.maxAttempts(); attempt++) {
      if (attempt > 0) {
        backoff(attempt, rpc);
      }
      int i = Math.floorMod(next.getAndIncrement(), channels.size());
      try {
        return call.apply(i, channels.get(i));
      } catch (StatusRuntimeException e) {
        Status.Code code = e.getStatus().getCode();
        if (code == Status.Code.INVALID_ARGUMENT) {
          throw new IllegalArgumentException(e.getStatus().getDescription(), e);
        }
        if (!retryable(code)) {
          throw unavailable.apply(
              rpc + " on " + role + " " + names.get(i) + " failed: " + describe(e.getStatus()), e);
        }
        last = e;
        tried.add(names.get(i) + " " + code);
      }
    }
    throw unavailable.apply(rpc + " failed after " + options.maxAttempts() + " attempts ("
        + String.join(", ", tried) + "); last: " + describe(last.getStatus()), last);
  }

  /** UNAVAILABLE, RESOURCE_EXHAUSTED, or CANCELLED while the caller's own context is live. */
  private static boolean retryable(Status.Code code) {
    return code == Status.Code.UNAVAILABLE || code == Status.Code.RESOURCE_EXHAUSTED
        || (code == Status.Code.CANCELLED && !Context.current().isCancelled());
  }

  private void backoff(int attempt, String rpc) {
    try {
      options.sleeper().sleep(options.backoff().delay(attempt));
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
