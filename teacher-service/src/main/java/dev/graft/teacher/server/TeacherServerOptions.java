package dev.graft.teacher.server;

import dev.graft.model.ComputeDevice;
import dev.graft.model.VocabBudget;
import dev.graft.service.ServiceHost;
import dev.graft.service.TransportSecurity;
import dev.graft.teacher.TeacherLimits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Validated settings of a {@link TeacherServer}. Build with {@link TeacherServer#builder()}.
 *
 * @param checkpoint the checkpoint directory to load, or null when {@code teacher} is given
 * @param teacher a teacher to serve (borrowed, not closed by the server), or null
 * @param maxSequenceLength longest sequence per request for a loaded checkpoint; 0 means the
 *     model's {@code max_position_embeddings}
 * @param maxTokensPerRequest most B·T per request for a loaded checkpoint; 0 means
 *     {@link TeacherLimits#DEFAULT_MAX_TOKENS_PER_REQUEST}
 * @param port gRPC port; 0 picks a free one
 * @param capacityTokens in-flight token capacity; 0 means four full requests
 * @param maxBatchTokens padded tokens per forward pass; 0 means one full request
 * @param maxWait how long a batch waits for more requests
 * @param chunkBytes byte budget of one response message
 * @param metricsPort HTTP port of {@code /metrics}; 0 picks a free one, -1 turns it off
 * @param shutdownGrace how long {@link TeacherServer#close()} lets in-flight streams finish
 * @param listeners extra observers of the batcher (tests, logging)
 * @param vocabBudget the memory (positions × vocabulary) buffers may take at once, for a loaded
 *     checkpoint; null means {@link VocabBudget#forMachine()}
 * @param device where a loaded checkpoint computes
 * @param security plaintext or TLS, and which clients may score
 * @param maxConnectionAge how long a client connection lives before the client is asked to
 *     reconnect (so channels rebalance over replicas); zero: for ever
 * @param maxHiddenStateBytes the most bytes of hidden states one request may ask for, for a loaded
 *     checkpoint; 0 means {@link LocalTeacher#DEFAULT_MAX_HIDDEN_STATE_BYTES}
 */
public record TeacherServerOptions(
    Path checkpoint,
    LocalTeacher teacher,
    int maxSequenceLength,
    int maxTokensPerRequest,
    int port,
    long capacityTokens,
    int maxBatchTokens,
    Duration maxWait,
    int chunkBytes,
    int metricsPort,
    Duration shutdownGrace,
    List<ScoreBatcher.Listener> listeners,
    VocabBudget vocabBudget,
    ComputeDevice device,
    TransportSecurity security,
    Duration maxConnectionAge,
    long maxHiddenStateBytes) {

  /** Default response message budget: 1 MiB, a quarter of gRPC's default 4 MiB limit. */
  public static final int DEFAULT_CHUNK_BYTES = 1 << 20;
  /** Smallest budget: room for the message framing plus a little data. */
  public static final int MIN_CHUNK_BYTES = 1024;
  /** Largest budget: under gRPC's default 4 MiB inbound limit with margin. */
  public static final int MAX_CHUNK_BYTES = 4_000_000;

  public TeacherServerOptions {
    if ((checkpoint == null) == (teacher == null)) {
      throw new IllegalArgumentException("set exactly one of a checkpoint directory or a teacher");
    }
    if (maxSequenceLength < 0 || maxTokensPerRequest < 0) {
      throw new IllegalArgumentException("max_sequence_length (" + maxSequenceLength
          + ") and max_tokens_per_request (" + maxTokensPerRequest + ") must be >= 0 (0 = default)");
    }
    if (device == null) {
      throw new IllegalArgumentException("a device is required (ComputeDevice.AUTO for the engine's default)");
    }
    if (maxHiddenStateBytes < 0) {
      throw new IllegalArgumentException("max_hidden_state_bytes (" + maxHiddenStateBytes
          + ") must be >= 0 (0 = default)");
    }
    if (teacher != null && (maxSequenceLength > 0 || maxTokensPerRequest > 0 || vocabBudget != null
        || maxHiddenStateBytes > 0)) {
      throw new IllegalArgumentException("request limits and the vocabulary budget apply to a loaded"
          + " checkpoint; a given teacher brings its own (build the LocalTeacher with them instead)");
    }
    new ServiceHost.Options("teacher", port, metricsPort, shutdownGrace == null ? Duration.ZERO : shutdownGrace,
        security, maxConnectionAge);
    if (capacityTokens < 0 || maxBatchTokens < 0) {
      throw new IllegalArgumentException("capacity_tokens (" + capacityTokens
          + ") and max_batch_tokens (" + maxBatchTokens + ") must be >= 0 (0 = default)");
    }
    if (chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) {
      throw new IllegalArgumentException("chunk_bytes (" + chunkBytes + ") must be in ["
          + MIN_CHUNK_BYTES + ", " + MAX_CHUNK_BYTES + "]");
    }
    if (maxWait == null || maxWait.isNegative() || shutdownGrace == null || shutdownGrace.isNegative()) {
      throw new IllegalArgumentException("max_wait (" + maxWait + ") and shutdown grace ("
          + shutdownGrace + ") must be >= 0");
    }
    listeners = List.copyOf(listeners);
  }

  /** The lifecycle settings of the replica's server. */
  ServiceHost.Options host() {
    return new ServiceHost.Options("teacher", port, metricsPort, shutdownGrace, security, maxConnectionAge);
  }

  /** The batcher settings for a teacher with {@code limits}, defaults filled in. */
  ScoreBatcher.Options batcherOptions(TeacherLimits teacherLimits) {
    ScoreBatcher.Options d = ScoreBatcher.Options.defaults(teacherLimits);
    return new ScoreBatcher.Options(capacityTokens > 0 ? capacityTokens : d.capacityTokens(),
        maxBatchTokens > 0 ? maxBatchTokens : d.maxBatchTokens(), maxWait);
  }

  /** Builds {@link TeacherServerOptions}; every setter validates in {@link #build()}. */
  public static final class Builder {
    private Path checkpoint;
    private LocalTeacher teacher;
    private int maxSequenceLength;
    private int maxTokensPerRequest;
    private int port;
    private long capacityTokens;
    private int maxBatchTokens;
    private Duration maxWait = Duration.ZERO;
    private int chunkBytes = DEFAULT_CHUNK_BYTES;
    private int metricsPort = -1;
    private Duration shutdownGrace = Duration.ofSeconds(30);
    private final List<ScoreBatcher.Listener> listeners = new ArrayList<>();
    private VocabBudget vocabBudget;
    private long maxHiddenStateBytes;
    private ComputeDevice device = ComputeDevice.AUTO;
    private TransportSecurity security = TransportSecurity.plaintext();
    private Duration maxConnectionAge = Duration.ZERO;

    /** How the port is secured (default: plaintext, for loopback; `graft teacher` always says). */
    public Builder security(TransportSecurity s) {
      this.security = s;
      return this;
    }

    /**
     * How long a client connection lives before the client is asked to reconnect, so that
     * long-lived channels rebalance over replicas that came later (default: zero, for ever).
     */
    public Builder maxConnectionAge(Duration d) {
      this.maxConnectionAge = d;
      return this;
    }

    /** Where a loaded checkpoint computes (default: the engine's default device). */
    public Builder device(ComputeDevice d) {
      this.device = d;
      return this;
    }

    public Builder checkpoint(Path dir) {
      this.checkpoint = dir;
      return this;
    }

    public Builder teacher(LocalTeacher t) {
      this.teacher = t;
      return this;
    }

    /** Longest sequence per request for a loaded checkpoint; 0 = the model's context. */
    public Builder maxSequenceLength(int tokens) {
      this.maxSequenceLength = tokens;
      return this;
    }

    /** Most B·T per request for a loaded checkpoint; 0 = the default. */
    public Builder maxTokensPerRequest(int tokens) {
      this.maxTokensPerRequest = tokens;
      return this;
    }

    public Builder port(int p) {
      this.port = p;
      return this;
    }

    public Builder capacityTokens(long tokens) {
      this.capacityTokens = tokens;
      return this;
    }

    public Builder maxBatchTokens(int tokens) {
      this.maxBatchTokens = tokens;
      return this;
    }

    public Builder maxWait(Duration d) {
      this.maxWait = d;
      return this;
    }

    public Builder chunkBytes(int bytes) {
      this.chunkBytes = bytes;
      return this;
    }

    public Builder metricsPort(int p) {
      this.metricsPort = p;
      return this;
    }

    public Builder shutdownGrace(Duration d) {
      this.shutdownGrace = d;
      return this;
    }

    /** The memory (positions × vocabulary) buffers may take at once; null = sized for the machine. */
    public Builder vocabBudget(VocabBudget budget) {
      this.vocabBudget = budget;
      return this;
    }

    /** The most bytes of hidden states one request may ask for; 0 = the default (1 GiB). */
    public Builder maxHiddenStateBytes(long bytes) {
      this.maxHiddenStateBytes = bytes;
      return this;
    }

    public Builder listener(ScoreBatcher.Listener l) {
      this.listeners.add(l);
      return this;
    }

    public TeacherServerOptions options() {
      return new TeacherServerOptions(checkpoint, teacher, maxSequenceLength,
          maxTokensPerRequest, port, capacityTokens,
          maxBatchTokens, maxWait, chunkBytes, metricsPort, shutdownGrace, listeners, vocabBudget,
          device, security, maxConnectionAge, maxHiddenStateBytes);
    }

    /** A server with these options, not yet started. */
    public TeacherServer build() {
      return new TeacherServer(options());
    }
  }
}
