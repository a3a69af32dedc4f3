package dev.graft.teacher;

import dev.graft.data.TokenBatch;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.GetModelInfoRequest;
import dev.graft.proto.v1.ScoreChunk;
import dev.graft.proto.v1.TeacherServiceGrpc;
import dev.graft.service.ReplicaClientBuilder;
import dev.graft.service.ReplicaClientOptions;
import dev.graft.service.ReplicaRetry;
import dev.graft.service.Replicas;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@link TeacherScorer} over one or more teacher replicas. Calls go round-robin across the
 * replicas, each with a deadline. A call that fails with {@code UNAVAILABLE} or
 * {@code RESOURCE_EXHAUSTED} is retried on the next replica after an exponential backoff, up to
 * a bounded number of attempts; {@code INVALID_ARGUMENT} becomes an
 * {@link IllegalArgumentException} with the server's message, and every other failure (deadline,
 * exhausted retries, malformed answer) a {@link TeacherUnavailableException}. Log-probs that
 * travel as fp16 or bf16 are widened exactly to float. Thread-safe.
 */
public final class TeacherClient implements TeacherScorer {

  private final Replicas replicas;
  private final ReplicaClientOptions options;
  private final DType valueType;
  private final ReplicaRetry retry;
  private volatile TeacherInfo info;

  private TeacherClient(Replicas replicas, ReplicaClientOptions options, DType valueType) {
    this.replicas = replicas;
    this.options = options;
    this.valueType = valueType;
    this.retry = new ReplicaRetry("teacher", replicas, options, TeacherUnavailableException::new);
  }

  /** Collects the replicas and settings of a client: a 60 s deadline and fp32 values by default. */
  public static Builder builder() {
    return new Builder();
  }

  /** A client with default settings over {@code host:port} endpoints. */
  public static TeacherClient connect(List<String> endpoints) {
    return builder().endpoints(endpoints).build();
  }

  /** Builds a {@link TeacherClient}: the replicas, the shared settings and the log-prob dtype. */
  public static final class Builder extends ReplicaClientBuilder<Builder> {
    private DType valueType = DType.DTYPE_FLOAT32;

    private Builder() {
      super("teacher", Duration.ofSeconds(60));
    }

    /** The log-prob dtype asked for: FLOAT32 (default), FLOAT16 or BFLOAT16. */
    public Builder valueType(DType t) {
      this.valueType = t;
      return this;
    }

    /**
     * @throws IllegalArgumentException if there is no replica, both endpoints and channels are
     *     given, or a setting is invalid
     */
    public TeacherClient build() {
      ReplicaClientOptions options = options();
      DType values = TeacherProtos.valueType(valueType == null ? DType.DTYPE_UNSPECIFIED : valueType);
      return new TeacherClient(replicas(), options, values);
    }
  }

  /** From the first replica that answers {@code GetModelInfo}; cached after the first call. */
  @Override
  public TeacherInfo info() {
    TeacherInfo cached = info;
    if (cached == null) {
      cached = retry.call("GetModelInfo", ch -> TeacherProtos.teacherInfo(
          TeacherServiceGrpc.newBlockingStub(ch).withDeadlineAfter(deadlineNanos(), TimeUnit.NANOSECONDS)
              .getModelInfo(GetModelInfoRequest.getDefaultInstance())));
      info = cached;
    }
    return cached;
  }

  @Override
  public Scores score(TokenBatch tokens, ScoreRequest request) {
    if (tokens == null || tokens.batch() == 0 || tokens.length() == 0) {
      throw new IllegalArgumentException("tokens must hold at least one non-empty row");
    }
    dev.graft.proto.v1.ScoreRequest proto = TeacherProtos.encode(tokens, request, valueType);
    return retry.call("Score", ch -> scoreOnce(ch, proto, tokens.batch(), tokens.length(), request));
  }

  /** One streaming call; the context is cancelled on every exit so no call outlives it. */
  private Scores scoreOnce(ManagedChannel channel, dev.graft.proto.v1.ScoreRequest proto,
      int batch, int length, ScoreRequest request) {
    Context.CancellableContext context = Context.current().withCancellation();
    Context previous = context.attach();
    try {
      Iterator<ScoreChunk> chunks = TeacherServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(deadlineNanos(), TimeUnit.NANOSECONDS).score(proto);
      ChunkAssembler assembler = new ChunkAssembler(batch, length, request);
      while (chunks.hasNext()) {
        ScoreChunk chunk = chunks.next();
        try {
          assembler.accept(chunk);
        } catch (RuntimeException e) {
          throw new TeacherUnavailableException("the teacher sent a malformed answer: "
              + e.getMessage(), e);
        }
      }
      try {
        return assembler.finish();
      } catch (IllegalStateException e) {
        throw new TeacherUnavailableException("the teacher sent an incomplete answer: "
            + e.getMessage(), e);
      }
    } finally {
      context.detach(previous);
      context.cancel(null);
    }
  }

  private long deadlineNanos() {
    return options.deadline().toNanos();
  }

  /** The {@code host:port} (or channel) names this client calls, in round-robin order. */
  public List<String> endpoints() {
    return replicas.names();
  }

  /** The log-prob dtype requested on the wire. */
  public DType valueType() {
    return valueType;
  }

  /** Shuts down channels the client created; channels passed in stay open. */
  @Override
  public void close() {
    replicas.close();
  }
}
