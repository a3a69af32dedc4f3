package dev.graft.sampler;

import dev.graft.proto.v1.GenerateRequest;
import dev.graft.proto.v1.GetSamplerInfoRequest;
import dev.graft.proto.v1.RolloutChunk;
import dev.graft.proto.v1.SamplerServiceGrpc;
import dev.graft.service.ReplicaClientBuilder;
import dev.graft.service.ReplicaClientOptions;
import dev.graft.service.ReplicaRetry;
import dev.graft.service.Replicas;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
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
 * {@code FAILED_PRECONDITION} on a request pinned to a model a {@link ModelMismatchException}, and every other failure (deadline, exhausted retries, malformed answer) a
 * {@link SamplerUnavailableException}. Thread-safe.
 */
public final class SamplerClient implements RolloutSource {

  private final Replicas replicas;
  private final ReplicaClientOptions options;
  private final ReplicaRetry retry;

  private SamplerClient(Replicas replicas, ReplicaClientOptions options) {
    this.replicas = replicas;
    this.options = options;
    this.retry = new ReplicaRetry("sampler", replicas, options, SamplerUnavailableException::new);
  }

  /** Collects the replicas and settings of a client: a 5 min deadline (one call covers every rollout). */
  public static Builder builder() {
    return new Builder();
  }

  /** A client with default settings over {@code host:port} endpoints. */
  public static SamplerClient connect(List<String> endpoints) {
    return builder().endpoints(endpoints).build();
  }

  /** Builds a {@link SamplerClient}. */
  public static final class Builder extends ReplicaClientBuilder<Builder> {
    private Builder() {
      super("sampler", Duration.ofMinutes(5));
    }

    /**
     * @throws IllegalArgumentException if there is no replica, both endpoints and channels are
     *     given, or a setting is invalid
     */
    public SamplerClient build() {
      ReplicaClientOptions options = options();
      return new SamplerClient(replicas(), options);
    }
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

  /**
   * Sets {@code model_fingerprint} on the request: a replica serving another model refuses it
   * with FAILED_PRECONDITION, which becomes a {@link ModelMismatchException} (not retried).
   */
  @Override
  public List<Rollout> generate(List<int[]> prompts, SamplingParams params, String modelFingerprint) {
    if (prompts == null || prompts.isEmpty() || params == null) {
      throw new IllegalArgumentException("generate needs at least one prompt and sampling params");
    }
    if (modelFingerprint == null || modelFingerprint.isEmpty()) {
      throw new IllegalArgumentException("a model fingerprint is required to pin a request to a model");
    }
    GenerateRequest request = SamplerProtos.encode(prompts, params).toBuilder()
        .setModelFingerprint(modelFingerprint).build();
    return retry.call("Generate", ch -> {
      try {
        return generateOnce(ch, request, prompts);
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.FAILED_PRECONDITION) {
          throw new ModelMismatchException("sampler " + ch.authority() + ": " + e.getStatus().getDescription(), e);
        }
        throw e;
      }
    });
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
      if (out[i].policyVersion() != out[0].policyVersion() || out[i].policyEpoch() != out[0].policyEpoch()) {
        throw new SamplerUnavailableException("the sampler mixed policy versions "
            + out[0].policyVersion() + " and " + out[i].policyVersion() + " in one call");
      }
    }
    return List.of(out);
  }

  /** The {@code host:port} (or channel) names this client calls, in round-robin order. */
  public List<String> endpoints() {
    return replicas.names();
  }

  /** Shuts down channels the client created; channels passed in stay open. */
  @Override
  public void close() {
    replicas.close();
  }
}
