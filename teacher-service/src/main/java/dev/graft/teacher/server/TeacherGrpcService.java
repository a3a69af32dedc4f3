package dev.graft.teacher.server;

import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.GetModelInfoRequest;
import dev.graft.proto.v1.ModelInfo;
import dev.graft.proto.v1.ScoreChunk;
import dev.graft.proto.v1.TeacherServiceGrpc;
import dev.graft.service.Descriptions;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherProtos;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * {@code graft.v1.TeacherService} over a {@link ScoreBatcher}: decodes requests, streams the
 * answer in budgeted chunks as fast as the client reads them (flow control: a chunk is written
 * only while the call is ready), and maps domain errors to statuses in one place.
 */
final class TeacherGrpcService extends TeacherServiceGrpc.TeacherServiceImplBase {

  private final ScoreBatcher batcher;
  private final ModelInfo info;
  private final int chunkBytes;
  private final TeacherMetrics metrics;
  private final Executor executor;

  /**
   * @param executor runs chunk encoding once a result is ready, off the batcher's thread
   */
  TeacherGrpcService(ScoreBatcher batcher, int chunkBytes, TeacherMetrics metrics,
      Executor executor) {
    this.batcher = batcher;
    LocalTeacher teacher = batcher.teacher();
    this.info = TeacherProtos.modelInfo(batcher.info(), chunkBytes,
        new TeacherProtos.HiddenStateInfo(teacher.config().numHiddenLayers(),
            teacher.config().hiddenSize(), teacher.maxHiddenStateBytes()));
    this.chunkBytes = chunkBytes;
    this.metrics = metrics;
    this.executor = executor;
  }

  @Override
  public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> response) {
    response.onNext(info);
    response.onCompleted();
  }

  @Override
  public void score(dev.graft.proto.v1.ScoreRequest request, StreamObserver<ScoreChunk> response) {
    long start = System.nanoTime();
    ServerCallStreamObserver<ScoreChunk> call = (ServerCallStreamObserver<ScoreChunk>) response;
    ScoreBatcher.Ticket ticket;
    DType valueType;
    try {
      TeacherProtos.Decoded decoded = TeacherProtos.decode(request);
      valueType = decoded.valueType();
      ticket = batcher.submit(decoded.tokens(), decoded.request());
    } catch (RuntimeException e) {
      Status status = toStatus(e);
      record(status, start); // before the client can see the end
      call.onError(status.asRuntimeException());
      return;
    }
    ResponseStream stream = new ResponseStream(call, ticket, valueType, start);
    call.setOnCancelHandler(stream::cancelled);
    call.setOnReadyHandler(stream::drain);
    ticket.result().whenCompleteAsync(stream::start, executor);
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
    if (cause instanceof TeacherOverloadedException) {
      return Status.RESOURCE_EXHAUSTED.withDescription(Descriptions.bound(cause.getMessage()));
    }
    if (cause instanceof IllegalStateException) {
      return Status.UNAVAILABLE.withDescription(Descriptions.bound(cause.getMessage()));
    }
    if (cause instanceof CancellationException) {
      return Status.CANCELLED.withDescription("the request was cancelled");
    }
    return Status.INTERNAL.withDescription(Descriptions.bound("teacher failed: " + cause)).withCause(cause);
  }

  private void record(Status status, long startNanos) {
    metrics.requestFinished(status.getCode().name().toLowerCase(Locale.ROOT),
        Duration.ofNanos(System.nanoTime() - startNanos));
  }

  /** One response: waits for the result, then writes chunks while the transport is ready. */
  private final class ResponseStream {
    private final ServerCallStreamObserver<ScoreChunk> call;
    private final ScoreBatcher.Ticket ticket;
    private final DType valueType;
    private final long startNanos;
    private ScoreChunker chunks; // null until the result is ready
    private long tokens;
    private boolean done;

    ResponseStream(ServerCallStreamObserver<ScoreChunk> call, ScoreBatcher.Ticket ticket,
        DType valueType, long startNanos) {
      this.call = call;
      this.ticket = ticket;
      this.valueType = valueType;
      this.startNanos = startNanos;
    }

    synchronized void start(Scores scores, Throwable error) {
      if (done) {
        return;
      }
      if (error != null) {
        finish(toStatus(error));
        return;
      }
      chunks = new ScoreChunker(scores, valueType, info.getVocabSize(), chunkBytes,
          info.getModelFingerprint());
      tokens = (long) scores.batch() * scores.length();
      drain();
    }

    synchronized void drain() {
      if (done || chunks == null) {
        return;
      }
      while (chunks.hasNext() && call.isReady()) {
        call.onNext(chunks.next());
      }
      if (!chunks.hasNext()) {
        metrics.tokensScored(tokens);
        finish(Status.OK);
      }
    }

    synchronized void cancelled() {
      if (!done) {
        done = true;
        ticket.close();
        record(Status.CANCELLED, startNanos);
      }
    }

    private void finish(Status status) {
      done = true;
      ticket.close();
      record(status, startNanos); // before the client can see the end
      if (status.isOk()) {
        call.onCompleted();
      } else {
        call.onError(status.asRuntimeException());
      }
    }
  }
}
