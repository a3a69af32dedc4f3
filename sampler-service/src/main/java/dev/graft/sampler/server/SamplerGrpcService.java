package dev.graft.sampler.server;

import dev.graft.proto.v1.GenerateRequest;
import dev.graft.proto.v1.GetSamplerInfoRequest;
import dev.graft.proto.v1.RolloutChunk;
import dev.graft.proto.v1.SamplerServiceGrpc;
import dev.graft.sampler.ModelMismatchException;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplerProtos;
import dev.graft.sampler.SamplerUnavailableException;
import dev.graft.service.Descriptions;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * {@code graft.v1.SamplerService} over a {@link GenerationEngine}: decodes requests, streams each
 * rollout as it completes, as fast as the client reads (flow control: chunks are written only
 * while the call is ready), and maps domain errors to statuses in one place.
 */
final class SamplerGrpcService extends SamplerServiceGrpc.SamplerServiceImplBase {

  /** Serialized rollouts per chunk stay under this, unless one alone is larger. */
  static final int CHUNK_BYTES = 1 << 20;

  private final GenerationEngine engine;
  private final SamplerMetrics metrics;
  private final Executor executor;
  private final String modelFingerprint;

  /** A replica that follows a trainer's policy versions. */
  SamplerGrpcService(GenerationEngine engine, SamplerMetrics metrics, Executor executor) {
    this(engine, metrics, executor, "");
  }

  /**
   * @param executor writes responses, off the engine's thread
   * @param modelFingerprint the fixed checkpoint served, or "" when following a trainer
   */
  SamplerGrpcService(GenerationEngine engine, SamplerMetrics metrics, Executor executor, String modelFingerprint) {
    this.engine = engine;
    this.metrics = metrics;
    this.executor = executor;
    this.modelFingerprint = modelFingerprint;
  }

  @Override
  public void getInfo(GetSamplerInfoRequest request,
      StreamObserver<dev.graft.proto.v1.SamplerInfo> response) {
    GenerationEngine.Options o = engine.options();
    response.onNext(SamplerProtos.info(engine.info().servingModel(modelFingerprint), o.slots(), o.maxQueuedSequences(), o.maxNewTokensLimit()));
    response.onCompleted();
  }

  @Override
  public void generate(GenerateRequest request, StreamObserver<RolloutChunk> response) {
    long start = System.nanoTime();
    ServerCallStreamObserver<RolloutChunk> call = (ServerCallStreamObserver<RolloutChunk>) response;
    ResponseStream stream = new ResponseStream(call, start);
    call.setOnCancelHandler(stream::cancelled);
    call.setOnReadyHandler(() -> executor.execute(stream::drain));
    String wanted = request.getModelFingerprint();
    if (!wanted.isEmpty() && !wanted.equals(modelFingerprint)) {
      stream.fail(Status.FAILED_PRECONDITION.withDescription(
          Descriptions.bound(ModelMismatchException.describe(wanted, modelFingerprint))));
      return;
    }
    GenerationJob job;
    try {
      SamplerProtos.Decoded decoded = SamplerProtos.decode(request);
      job = engine.submit(decoded.prompts(), decoded.params(), stream::offer);
    } catch (RuntimeException e) {
      stream.fail(toStatus(e));
      return;
    }
    stream.attach(job);
  }

  /**
   * The one place where domain failures become gRPC statuses; every description is bounded
   * ({@link Descriptions#bound}) so that it fits in the trailers whatever the request held.
   */
  static Status toStatus(Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof IllegalArgumentException) {
      return Status.INVALID_ARGUMENT.withDescription(Descriptions.bound(cause.getMessage()));
    }
    if (cause instanceof SamplerOverloadedException) {
      return Status.RESOURCE_EXHAUSTED.withDescription(Descriptions.bound(cause.getMessage()));
    }
    if (cause instanceof SamplerUnavailableException || cause instanceof IllegalStateException) {
      return Status.UNAVAILABLE.withDescription(Descriptions.bound(cause.getMessage()));
    }
    if (cause instanceof CancellationException) {
      return Status.CANCELLED.withDescription("the request was cancelled");
    }
    return Status.INTERNAL.withDescription(Descriptions.bound("sampler failed: " + cause)).withCause(cause);
  }

  /** One response: rollouts wait in {@code pending} until the transport is ready for them. */
  private final class ResponseStream {
    private final ServerCallStreamObserver<RolloutChunk> call;
    private final long startNanos;
    private final Deque<dev.graft.proto.v1.Rollout> pending = new ArrayDeque<>();
    private GenerationJob job;
    private boolean generated; // every rollout is in pending or sent
    private boolean done;

    ResponseStream(ServerCallStreamObserver<RolloutChunk> call, long startNanos) {
      this.call = call;
      this.startNanos = startNanos;
    }

    /** Called on the engine thread for each finished rollout: queue it, write off-thread. */
    void offer(int index, Rollout rollout) {
      dev.graft.proto.v1.Rollout proto = SamplerProtos.encode(index, rollout);
      synchronized (this) {
        pending.addLast(proto);
      }
      executor.execute(this::drain);
    }

    synchronized void attach(GenerationJob j) {
      job = j;
      if (done) { // cancelled before the job existed
        j.cancel();
        return;
      }
      j.result().whenCompleteAsync(this::generated, executor);
    }

    private synchronized void generated(List<Rollout> rollouts, Throwable error) {
      if (done) {
        return;
      }
      if (error != null) {
        fail(toStatus(error));
        return;
      }
      generated = true;
      drain();
    }

    synchronized void drain() {
      while (!done && !pending.isEmpty() && call.isReady()) {
        RolloutChunk.Builder chunk = RolloutChunk.newBuilder().addRollouts(pending.pollFirst());
        long bytes = chunk.getRollouts(0).getSerializedSize();
        while (!pending.isEmpty() && bytes + pending.peekFirst().getSerializedSize() + 8 <= CHUNK_BYTES) {
          bytes += pending.peekFirst().getSerializedSize() + 8;
          chunk.addRollouts(pending.pollFirst());
        }
        call.onNext(chunk.build());
      }
      if (!done && generated && pending.isEmpty()) {
        done = true;
        record(Status.OK); // before the client can see the end
        call.onCompleted();
      }
    }

    synchronized void cancelled() {
      if (!done) {
        done = true;
        if (job != null) {
          job.cancel();
        }
        record(Status.CANCELLED);
      }
    }

    synchronized void fail(Status status) {
      if (!done) {
        done = true;
        if (job != null) {
          job.cancel();
        }
        record(status);
        call.onError(status.asRuntimeException());
      }
    }

    private void record(Status status) {
      metrics.requestFinished(status.getCode().name().toLowerCase(Locale.ROOT),
          Duration.ofNanos(System.nanoTime() - startNanos));
    }
  }
}
