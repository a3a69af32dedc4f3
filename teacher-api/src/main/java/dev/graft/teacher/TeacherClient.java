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
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * A {@link TeacherScorer} over one or more teacher replicas that must all serve the same teacher.
 *
 * <p><b>One teacher.</b> On first use ({@link #info()} or {@link #score}) the client asks every
 * replica for its {@code ModelInfo}; the replicas that answer must agree on the model fingerprint,
 * the tokenizer fingerprint and the vocabulary, or the call throws a
 * {@link TeacherMismatchException} naming the replica and both values (so a run stops before it
 * trains). A replica that does not answer then is asked again, and checked the same way, before
 * it first gets work. Every Score answer names the model that computed it
 * ({@code ScoreChunk.model_fingerprint}); an answer of any other model than the agreed one is a
 * {@link TeacherMismatchException} too and is never returned.
 *
 * <p><b>Failures.</b> Calls go round-robin across the replicas, each with a deadline. A call that
 * fails with {@code UNAVAILABLE} or {@code RESOURCE_EXHAUSTED} — also in the middle of a stream —
 * is retried whole on the next replica after an exponential backoff, up to a bounded number of
 * attempts; {@code INVALID_ARGUMENT} becomes an {@link IllegalArgumentException} with the server's
 * message, and every other failure (deadline, exhausted retries, malformed answer) a
 * {@link TeacherUnavailableException}. Log-probs that travel as fp16 or bf16 are widened exactly
 * to float. Thread-safe.
 */
public final class TeacherClient implements TeacherScorer {

  private final Replicas replicas;
  private final ReplicaClientOptions options;
  private final DType valueType;
  private final ReplicaRetry retry;
  private final Object startLock = new Object();
  private final AtomicIntegerArray checked; // 1 once a replica's ModelInfo matched the agreed one
  private volatile TeacherInfo agreed; // null until first use

  private TeacherClient(Replicas replicas, ReplicaClientOptions options, DType valueType) {
    this.replicas = replicas;
    this.options = options;
    this.valueType = valueType;
    this.retry = new ReplicaRetry("teacher", replicas, options, TeacherUnavailableException::new);
    this.checked = new AtomicIntegerArray(replicas.names().size());
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

  /**
   * What every replica serves, agreed on at first use (see the class comment).
   *
   * @throws TeacherMismatchException when replicas disagree
   * @throws TeacherUnavailableException when no replica answers
   */
  @Override
  public TeacherInfo info() {
    TeacherInfo a = agreed;
    if (a != null) {
      return a;
    }
    synchronized (startLock) {
      if (agreed == null) {
        agreed = start();
      }
      return agreed;
    }
  }

  /**
   * {@inheritDoc}
   *
   * @throws TeacherMismatchException when replicas disagree, or the answer comes from another model
   */
  @Override
  public Scores score(TokenBatch tokens, ScoreRequest request) {
    if (tokens == null || tokens.batch() == 0 || tokens.length() == 0) {
      throw new IllegalArgumentException("tokens must hold at least one non-empty row");
    }
    String model = info().modelFingerprint();
    dev.graft.proto.v1.ScoreRequest proto = TeacherProtos.encode(tokens, request, valueType);
    return retry.callReplica("Score", (i, ch) -> {
      check(i, ch);
      return scoreOnce(i, ch, proto, tokens.batch(), tokens.length(), request, model);
    });
  }

  /**
   * Chosen layers' hidden states of B sequences of length T, in the client's value dtype (see
   * {@link ScoreRequest.HiddenStates}); chunking, retries and the fingerprint check are those of
   * {@link #score}.
   *
   * @throws IllegalArgumentException when the teacher refuses the request (a layer index outside
   *     its layers, an answer over its max_hidden_state_bytes, ...)
   */
  public Scores.HiddenStates hiddenStates(TokenBatch tokens, ScoreRequest.HiddenStates request) {
    return (Scores.HiddenStates) score(tokens, request);
  }

  /**
   * Asks every replica once; those that answer must agree. When none answers, the first that does
   * within the usual retries sets what the others must match.
   */
  private TeacherInfo start() {
    TeacherInfo first = null;
    int firstReplica = -1;
    for (int i = 0; i < checked.length(); i++) {
      TeacherInfo info;
      try {
        info = fetchInfo(replicas.channels().get(i));
      } catch (StatusRuntimeException e) {
        continue; // unreachable for now: checked before it first gets work
      }
      if (first == null) {
        first = info;
        firstReplica = i;
      } else {
        requireSame(first, firstReplica, info, i);
      }
      checked.set(i, 1);
    }
    if (first != null) {
      return first;
    }
    return retry.callReplica("GetModelInfo", (i, ch) -> {
      TeacherInfo info = fetchInfo(ch);
      checked.set(i, 1);
      return info;
    });
  }

  /** Checks a replica not yet checked against the agreed teacher; a failure to answer is retried. */
  private void check(int replica, ManagedChannel channel) {
    if (checked.get(replica) == 1) {
      return;
    }
    requireSame(agreed, -1, fetchInfo(channel), replica);
    checked.set(replica, 1);
  }

  private TeacherInfo fetchInfo(ManagedChannel channel) {
    return TeacherProtos.teacherInfo(TeacherServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadlineNanos(), TimeUnit.NANOSECONDS)
        .getModelInfo(GetModelInfoRequest.getDefaultInstance()));
  }

  /**
   * @param reference the replica {@code expected} came from, or -1 for the agreed teacher
   * @throws TeacherMismatchException naming the replica and each value that differs
   */
  private void requireSame(TeacherInfo expected, int reference, TeacherInfo got, int replica) {
    List<String> differences = new ArrayList<>();
    if (!got.modelFingerprint().equals(expected.modelFingerprint())) {
      differences.add("model fingerprint " + shown(got.modelFingerprint()) + " vs "
          + shown(expected.modelFingerprint()));
    }
    if (!got.tokenizerFingerprint().equals(expected.tokenizerFingerprint())) {
      differences.add("tokenizer fingerprint " + shown(got.tokenizerFingerprint()) + " vs "
          + shown(expected.tokenizerFingerprint()));
    }
    if (got.vocabSize() != expected.vocabSize()) {
      differences.add("vocabulary " + got.vocabSize() + " vs " + expected.vocabSize());
    }
    if (!differences.isEmpty()) {
      String other = reference < 0 ? "the teacher the replicas agreed on at start"
          : "teacher " + replicas.names().get(reference);
      throw new TeacherMismatchException("teacher " + replicas.names().get(replica) + " serves another"
          + " teacher than " + other + ": " + String.join(", ", differences)
          + "; every replica must serve the same model, tokenizer and vocabulary");
    }
  }

  private static String shown(String fingerprint) {
    return fingerprint.isEmpty() ? "(none)" : fingerprint;
  }

  /** One streaming call; the context is cancelled on every exit so no call outlives it. */
  private Scores scoreOnce(int replica, ManagedChannel channel, dev.graft.proto.v1.ScoreRequest proto,
      int batch, int length, ScoreRequest request, String model) {
    Context.CancellableContext context = Context.current().withCancellation();
    Context previous = context.attach();
    try {
      Iterator<ScoreChunk> chunks = TeacherServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(deadlineNanos(), TimeUnit.NANOSECONDS).score(proto);
      ChunkAssembler assembler = new ChunkAssembler(batch, length, request);
      while (chunks.hasNext()) {
        ScoreChunk chunk = chunks.next();
        if (!chunk.getModelFingerprint().equals(model)) {
          throw new TeacherMismatchException("teacher " + replicas.names().get(replica)
              + " answered with model fingerprint " + shown(chunk.getModelFingerprint())
              + ", not the agreed " + model + "; its scores are refused");
        }
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
