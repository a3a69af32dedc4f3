package dev.graft.sampler;

import dev.graft.proto.v1.GenerateRequest;
import dev.graft.proto.v1.GetSamplerInfoRequest;
import dev.graft.proto.v1.RolloutChunk;
import dev.graft.proto.v1.SamplerServiceGrpc;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import dev.graft.service.ReplicaRetry;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@link RolloutSource} over one or more sampler replicas. Calls go round-robin across the
 * replicas, each with a deadline. A call that fails with {@code UNAVAILABLE} (no policy yet,
 * shutting down, unreachable) or {@code RESOURCE_EXHAUSTED} (queue full) is retried on the next
 * replica after an exponential backoff, up to a bounded number of attempts;
 * {@code INVALID_ARGUMENT} becomes an {@link IllegalArgumentException} with the server's message,
 * and every other failure (deadline, exhausted retries, malformed answer) a
 * {@link SamplerUnavailableException}. Thread-safe.
 */
public final class SamplerClient implements RolloutSource {

  /** Waits between attempts; injectable so tests do not sleep. */
  @FunctionalInterface
  public interface Sleeper {
    void sleep(Duration duration) throws InterruptedException;
  }

  private final List<ManagedChannel> channels;
  private final boolean ownsChannels;
  private final List<String> names;
  private final SamplerClientOptions options;
  private final ReplicaRetry retry;

  SamplerClient(List<ManagedChannel> channels, boolean ownsChannels, List<String> names,
      SamplerClientOptions options) {
    this.channels = List.copyOf(channels);
    this.ownsChannels = ownsChannels;
    this.names = List.copyOf(names);
    this.options = options;
    this.retry = new ReplicaRetry("sampler", this.channels, this.names, options.maxAttempts(),
        options.initialBackoff(), options.maxBackoff(), options.sleeper()::sleep, SamplerUnavailableException::new);
  }

  /** Settings and endpoints of a client; see {@link SamplerClientOptions.Builder}. */
  public static SamplerClientOptions.Builder builder() {
    return new SamplerClientOptions.Builder();
  }

  /** A client with default settings over {@code host:port} endpoints. */
  public static SamplerClient connect(List<String> endpoints) {
    return builder().endpoints(endpoints).build();
  }

  static ManagedChannel channel(String endpoint) {
    return Grpc.newChannelBuilder(endpoint, InsecureChannelCredentials.create()).build();
  }

  /** From the next replica that answers {@code GetInfo}; not cached, as the version moves. */
  @Override
  public SamplerInfo info() {
    return retry.call("GetInfo", ch -> SamplerProtos.info(SamplerServiceGrpc.newBlockingStub(ch)
        .withDeadlineAfter(options.deadline().toNanos(), TimeUnit.NANOSECONDS)
        .getInfo(GetSamplerInfoRequest.getDefaultInstance())));
  }

  @Override
  public List<Rollout> generate(List<int[]> prompts, SamplingParams params) {
    if (prompts == null || prompts.isEmpty() || params == null) {
      throw new IllegalArgumentException("generate needs at least one prompt and sampling params");
    }
    GenerateRequest request = SamplerProtos.encode(prompts, params);
    return retry.call("Generate", ch -> generateOnce(ch, request, prompts));
  }

  /** One streaming call; the context is cancelled on every exit so no call outlives it. */
  private List<Rollout> generateOnce(ManagedChannel channel, GenerateRequest request,
      List<int[]> prompts) {
    Context.CancellableContext context = Context.current().withCancellation();
    Context previous = context.attach();
    try {
      Iterator<RolloutChunk> chunks = SamplerServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(options.deadline().toNanos(), TimeUnit.NANOSECONDS).generate(request);
      Rollout[] out = new Rollout[prompts.size()];
      while (chunks.hasNext()) {
        for (dev.graft.proto.v1.Rollout r : chunks.next().getRolloutsList()) {
          accept(out, r, prompts);
        }
      }
      return checkComplete(out);
    } finally {
      context.detach(previous);
      context.cancel(null);
    }
  }

  private static void accept(Rollout[] out, dev.graft.proto.v1.Rollout r, List<int[]> prompts) {
    int i = r.getIndex();
    if (i < 0 || i >= out.length || out[i] != null) {
      throw new SamplerUnavailableException("the sampler sent rollout index " + i
          + (i >= 0 && i < out.length ? " twice" : " outside [0, " + out.length + ")"));
    }
    try {
      out[i] = SamplerProtos.decode(r, prompts.get(i).clone());
    } catch (IllegalArgumentException e) {
      throw new SamplerUnavailableException("the sampler sent a malformed rollout: " + e.getMessage(), e);
    }
  }

  private static List<Rollout> checkComplete(Rollout[] out) {
    for (int i = 0; i < out.length; i++) {
      if (out[i] == null) {
        throw new SamplerUnavailableException("the sampler's answer lacks rollout " + i);
      }
      if (out[i].policyVersion() != out[0].policyVersion()) {
        throw new SamplerUnavailableException("the sampler mixed policy versions "
            + out[0].policyVersion() + " and " + out[i].policyVersion() + " in one call");
      }
    }
    return List.of(out);
  }

  /** The {@code host:port} (or channel) names this client calls, in round-robin order. */
  public List<String> endpoints() {
    return names;
  }

  /** Shuts down channels the client created; channels passed in stay open. */
  @Override
  public void close() {
    if (ownsChannels) {
      channels.forEach(ManagedChannel::shutdownNow);
    }
  }
}
