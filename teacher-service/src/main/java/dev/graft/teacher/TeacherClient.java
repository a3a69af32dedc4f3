package dev.graft.teacher;

import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.GetModelInfoRequest;
import dev.graft.proto.v1.ScoreChunk;
import dev.graft.proto.v1.TeacherServiceGrpc;
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
 * A {@link TeacherScorer} over one or more teacher replicas. Calls go round-robin across the
 * replicas, each with a deadline. A call that fails with {@code UNAVAILABLE} or
 * {@code RESOURCE_EXHAUSTED} is retried on the next replica after an exponential backoff, up to
 * a bounded number of attempts; {@code INVALID_ARGUMENT} becomes an
 * {@link IllegalArgumentException} with the server's message, and every other failure (deadline,
 * exhausted retries, malformed answer) a {@link TeacherUnavailableException}. Log-probs that
 * travel as fp16 or bf16 are widened exactly to float. Thread-safe.
 */
public final class TeacherClient implements TeacherScorer {

  /** Waits between attempts; injectable so tests do not sleep. */
  @FunctionalInterface
  public interface Sleeper {
    void sleep(Duration duration) throws InterruptedException;
  }

  private final List<ManagedChannel> channels;
  private final boolean ownsChannels;
  private final List<String> names;
  private final TeacherClientOptions options;
  private final ReplicaRetry retry;
  private volatile TeacherInfo info;

  TeacherClient(List<ManagedChannel> channels, boolean ownsChannels, List<String> names,
      TeacherClientOptions options) {
    this.channels = List.copyOf(channels);
    this.ownsChannels = ownsChannels;
    this.names = List.copyOf(names);
    this.options = options;
    this.retry = new ReplicaRetry("teacher", this.channels, this.names, options.maxAttempts(),
        options.initialBackoff(), options.maxBackoff(), options.sleeper()::sleep, TeacherUnavailableException::new);
  }

  /** Settings and endpoints of a client; see {@link TeacherClientOptions.Builder}. */
  public static TeacherClientOptions.Builder builder() {
    return new TeacherClientOptions.Builder();
  }

  /** A client with default settings over {@code host:port} endpoints. */
  public static TeacherClient connect(List<String> endpoints) {
    return builder().endpoints(endpoints).build();
  }

  static ManagedChannel channel(String endpoint) {
    return Grpc.newChannelBuilder(endpoint, InsecureChannelCredentials.create()).build();
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
  public Scores score(int[][] tokens, ScoreRequest request) {
    if (tokens == null || tokens.length == 0 || tokens[0] == null || tokens[0].length == 0) {
      throw new IllegalArgumentException("tokens must hold at least one non-empty row");
    }
    dev.graft.proto.v1.ScoreRequest proto = TeacherProtos.encode(tokens, request, options.valueType());
    return retry.call("Score", ch -> scoreOnce(ch, proto, tokens.length, tokens[0].length, request));
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
    return names;
  }

  /** The log-prob dtype requested on the wire. */
  public DType valueType() {
    return options.valueType();
  }

  /** Shuts down channels the client created; channels passed in stay open. */
  @Override
  public void close() {
    if (ownsChannels) {
      channels.forEach(ManagedChannel::shutdownNow);
    }
  }
}
