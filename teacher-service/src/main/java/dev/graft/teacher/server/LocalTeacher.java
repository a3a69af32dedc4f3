package dev.graft.teacher.server;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.TokenBatch;
import dev.graft.model.ComputeDevice;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.model.ModelFingerprint;
import dev.graft.model.VocabBudget;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherInfo;
import dev.graft.teacher.TeacherLimits;
import dev.graft.teacher.TeacherScorer;
import dev.graft.tokenizer.GraftTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The teacher in this process: a frozen Llama model that scores token sequences as
 * {@code log_softmax(logits / temperature)}. Thread-safe; forward passes run one at a time (each
 * already uses every core), and the per-request post-processing runs on the caller's thread.
 *
 * <p>A teacher {@link #load loaded} from a checkpoint directory owns its model and frees it on
 * {@link #close()}; the directory is only read. A teacher built around an existing
 * {@link LlamaModel} borrows it: several teachers (with different limits) may share one model,
 * and the caller closes the model.
 */
public final class LocalTeacher implements TeacherScorer {

  /**
   * Bytes of hidden states (layers × points × B·T × hidden × 4, held as fp32 until sent) one
   * request may ask for when no other bound is given: 1 GiB.
   */
  public static final long DEFAULT_MAX_HIDDEN_STATE_BYTES = 1L << 30;

  /** Id written after the end of shorter rows; causal attention never lets it reach them. */
  private static final int PAD_ID = 0;

  private final LlamaModel model;
  private final NDManager owned; // null when the model is borrowed
  private final TeacherLimits limits;
  private final TeacherInfo info;
  private final VocabBudget budget;
  private final long maxHiddenStateBytes;
  private final ReentrantLock forwardLock = new ReentrantLock();
  private volatile boolean closed;

  /** One request inside a shared forward pass. */
  record Job(TokenBatch tokens, ScoreRequest request) {
    int rows() {
      return tokens.batch();
    }

    int length() {
      return tokens.length();
    }
  }

  private LocalTeacher(LlamaModel model, NDManager owned, TeacherLimits limits,
      String tokenizerFingerprint, VocabBudget budget, long maxHiddenStateBytes) {
    LlamaConfig c = model.config();
    if (maxHiddenStateBytes < 1) {
      throw new IllegalArgumentException(
          "max_hidden_state_bytes (" + maxHiddenStateBytes + ") must be >= 1");
    }
    if (limits.maxSequenceLength() > c.maxPositionEmbeddings()) {
      throw new IllegalArgumentException("max_sequence_length (" + limits.maxSequenceLength()
          + ") exceeds the model's max_position_embeddings (" + c.maxPositionEmbeddings() + ")");
    }
    this.model = model;
    this.owned = owned;
    this.limits = limits;
    this.budget = java.util.Objects.requireNonNull(budget, "budget");
    this.maxHiddenStateBytes = maxHiddenStateBytes;
    this.info = new TeacherInfo("LlamaForCausalLM", c.vocabSize(), tokenizerFingerprint,
        ModelFingerprint.of(c, model.namedParameters()), limits.maxSequenceLength(),
        limits.maxTokensPerRequest(), c.parameterCount(), c.kvCacheBytesPerToken(Float.BYTES));
  }

  /**
   * Borrows {@code model}; the caller keeps ownership and closes it after this teacher.
   *
   * @param tokenizerFingerprint sha256 of the model's tokenizer.json, or "" if unknown
   * @throws IllegalArgumentException if the limits exceed the model's context
   */
  public LocalTeacher(LlamaModel model, TeacherLimits limits, String tokenizerFingerprint) {
    this(model, null, limits, tokenizerFingerprint, VocabBudget.forMachine(),
        DEFAULT_MAX_HIDDEN_STATE_BYTES);
  }

  /** Borrows {@code model}, with no tokenizer fingerprint. */
  public LocalTeacher(LlamaModel model, TeacherLimits limits) {
    this(model, null, limits, "", VocabBudget.forMachine(), DEFAULT_MAX_HIDDEN_STATE_BYTES);
  }

  /** Borrows {@code model}, scoring within {@code budget}. */
  public LocalTeacher(LlamaModel model, TeacherLimits limits, VocabBudget budget) {
    this(model, null, limits, "", budget, DEFAULT_MAX_HIDDEN_STATE_BYTES);
  }

  /**
   * Borrows {@code model}; a hidden-states request may ask for at most {@code maxHiddenStateBytes}
   * (layers × points × B·T × hidden × 4).
   */
  public LocalTeacher(LlamaModel model, TeacherLimits limits, long maxHiddenStateBytes) {
    this(model, null, limits, "", VocabBudget.forMachine(), maxHiddenStateBytes);
  }

  /** A teacher that owns a model built from fp32 {@code tensors} (moved to its own manager). */
  public static LocalTeacher fromTensors(LlamaConfig config, Map<String, NDArray> tensors,
      TeacherLimits limits) {
    NDManager manager = NDManager.newBaseManager();
    try {
      return new LocalTeacher(LlamaModel.fromTensors(config, manager, tensors), manager, limits, "",
          VocabBudget.forMachine(), DEFAULT_MAX_HIDDEN_STATE_BYTES);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** {@link #load(Path, int, int)} with the model's full context and default batch limit. */
  public static LocalTeacher load(Path checkpointDir) throws IOException {
    return load(checkpointDir, 0, 0);
  }

  /** {@link #load(Path, int, int)} with the given limits. */
  public static LocalTeacher load(Path checkpointDir, TeacherLimits limits) throws IOException {
    return load(checkpointDir, c -> limits, VocabBudget.forMachine(), ComputeDevice.AUTO);
  }

  /**
   * Loads a Hugging Face checkpoint directory ({@code config.json}, safetensors, and optionally
   * {@code tokenizer.json}, whose fingerprint is reported). Nothing in the directory changes.
   *
   * @param maxSequenceLength the longest sequence a request may carry; 0 for the model's
   *     {@code max_position_embeddings}
   * @param maxTokensPerRequest the most B·T per request; 0 for
   *     {@link TeacherLimits#DEFAULT_MAX_TOKENS_PER_REQUEST}
   * @throws IllegalArgumentException if the checkpoint or tokenizer is malformed, or a limit
   *     exceeds the model's context
   * @throws IOException if a file cannot be read
   */
  public static LocalTeacher load(Path checkpointDir, int maxSequenceLength,
      int maxTokensPerRequest) throws IOException {
    return load(checkpointDir, maxSequenceLength, maxTokensPerRequest, VocabBudget.forMachine());
  }

  /** {@link #load(Path, int, int)}, scoring within {@code budget}. */
  public static LocalTeacher load(Path checkpointDir, int maxSequenceLength,
      int maxTokensPerRequest, VocabBudget budget) throws IOException {
    return load(checkpointDir, maxSequenceLength, maxTokensPerRequest, budget, ComputeDevice.AUTO);
  }

  /** {@link #load(Path, int, int, VocabBudget)}, computing on {@code device}. */
  public static LocalTeacher load(Path checkpointDir, int maxSequenceLength,
      int maxTokensPerRequest, VocabBudget budget, ComputeDevice device) throws IOException {
    return load(checkpointDir, maxSequenceLength, maxTokensPerRequest, budget, device, DEFAULT_MAX_HIDDEN_STATE_BYTES);
  }

  /**
   * {@link #load(Path, int, int, VocabBudget, ComputeDevice)}, answering hidden-states requests of at
   * most {@code maxHiddenStateBytes} (&ge; 1).
   */
  public static LocalTeacher load(Path checkpointDir, int maxSequenceLength, int maxTokensPerRequest,
      VocabBudget budget, ComputeDevice device, long maxHiddenStateBytes) throws IOException {
    return load(checkpointDir, c -> new TeacherLimits(
        maxSequenceLength > 0 ? maxSequenceLength : c.maxPositionEmbeddings(),
        maxTokensPerRequest > 0 ? maxTokensPerRequest : TeacherLimits.DEFAULT_MAX_TOKENS_PER_REQUEST),
        budget, device, maxHiddenStateBytes);
  }

  private static LocalTeacher load(Path checkpointDir,
      java.util.function.Function<LlamaConfig, TeacherLimits> limits, VocabBudget budget,
      ComputeDevice device) throws IOException {
    return load(checkpointDir, limits, budget, device, DEFAULT_MAX_HIDDEN_STATE_BYTES);
  }

  private static LocalTeacher load(Path checkpointDir,
      java.util.function.Function<LlamaConfig, TeacherLimits> limits, VocabBudget budget,
      ComputeDevice device, long maxHiddenStateBytes) throws IOException {
    if (maxHiddenStateBytes < 1) {
      throw new IllegalArgumentException("max_hidden_state_bytes (" + maxHiddenStateBytes + ") must be >= 1");
    }
    Path tokenizerFile = checkpointDir.resolve("tokenizer.json");
    String tokenizerFingerprint = "";
    if (Files.isRegularFile(tokenizerFile)) {
      try (GraftTokenizer tokenizer = GraftTokenizer.load(tokenizerFile)) {
        tokenizerFingerprint = tokenizer.fingerprint();
      }
    }
    NDManager manager = device.newManager();
    try {
      HfCheckpoint ckpt = HfCheckpoint.load(checkpointDir, manager);
      LlamaModel model = LlamaModel.fromTensors(ckpt.config(), manager, ckpt.tensors());
      return new LocalTeacher(model, manager, limits.apply(ckpt.config()), tokenizerFingerprint,
          budget, maxHiddenStateBytes);
    } catch (IOException | RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  @Override
  public TeacherInfo info() {
    return info;
  }

  public TeacherLimits limits() {
    return limits;
  }

  public LlamaConfig config() {
    return model.config();
  }

  /** The memory (positions × vocabulary) buffers of one forward pass may take at once. */
  public VocabBudget vocabBudget() {
    return budget;
  }

  /** {@inheritDoc} Throws {@link IllegalStateException} after {@link #close()}. */
  @Override
  public Scores score(TokenBatch tokens, ScoreRequest request) {
    validate(tokens, request);
    return scoreAll(List.of(new Job(tokens, request))).get(0);
  }

  /** The most bytes of hidden states one request may ask for. */
  public long maxHiddenStateBytes() {
    return maxHiddenStateBytes;
  }

  /**
   * Checks a request against the limits and the vocabulary (see {@link TeacherLimits#validate});
   * hidden states also against the model's layers and {@link #maxHiddenStateBytes()}.
   */
  public void validate(TokenBatch tokens, ScoreRequest request) {
    limits.validate(tokens, request, info.vocabSize());
    if (request instanceof ScoreRequest.HiddenStates h) {
      LlamaConfig c = model.config();
      for (int layer : h.layers()) {
        if (layer >= c.numHiddenLayers()) {
          throw new IllegalArgumentException("hidden_states layer index " + layer
              + " is outside the model's layers [0, " + c.numHiddenLayers() + ")");
        }
      }
      long bytes = (long) h.layers().size() * h.points() * tokens.batch() * tokens.length()
          * c.hiddenSize() * Float.BYTES;
      if (bytes > maxHiddenStateBytes) {
        throw new IllegalArgumentException("hidden states of " + h.layers().size() + " layers x "
            + h.points() + " points x " + (long) tokens.batch() * tokens.length() + " tokens x "
            + c.hiddenSize() + " hidden x 4 = " + bytes + " bytes exceed the teacher's "
            + "max_hidden_state_bytes " + maxHiddenStateBytes + "; ask for fewer layers or tokens");
      }
    }
  }

  /**
   * Scores already validated jobs in one forward pass: rows are stacked and padded on the right
   * to the longest T, and each job's outputs are computed from its slice of the final hidden
   * states, a chunk of positions at a time.
   */
  List<Scores> scoreAll(List<Job> jobs) {
    if (jobs.get(0).request() instanceof ScoreRequest.HiddenStates h) {
      if (jobs.size() != 1) {
        throw new IllegalArgumentException("a hidden-states request runs alone, not batched");
      }
      return List.of(hiddenStates(jobs.get(0).tokens(), h));
    }
    int rows = jobs.stream().mapToInt(Job::rows).sum();
    int maxT = jobs.stream().mapToInt(Job::length).max().orElseThrow();
    return forward(jobs, stack(jobs, rows, maxT), rows, maxT);
  }

  /**
   * The jobs' rows one after another, padded on the right to {@code maxT}: a job alone whose rows
   * need no padding is used as it is, without a copy.
   */
  private static int[] stack(List<Job> jobs, int rows, int maxT) {
    if (jobs.size() == 1) {
      return jobs.get(0).tokens().ids();
    }
    int[] ids = new int[rows * maxT];
    java.util.Arrays.fill(ids, PAD_ID);
    int r = 0;
    for (Job job : jobs) {
      TokenBatch t = job.tokens();
      for (int row = 0; row < t.batch(); row++) {
        System.arraycopy(t.ids(), row * t.length(), ids, r * maxT, t.length());
        r++;
      }
    }
    return ids;
  }

  /** One forward pass over (rows, maxT) ids; per job, its outputs. */
  private List<Scores> forward(List<Job> jobs, int[] ids, int rows, int maxT) {
    List<Scores> out = new ArrayList<>(jobs.size());
    forwardLock.lock();
    try (NDManager m = model.manager().newSubManager()) {
      if (closed) {
        throw new IllegalStateException("the teacher is closed");
      }
      NDArray hidden = model.hiddenReleasing(new TokenBatch(rows, maxT, ids).toNDArray(m)); // (R, maxT, D)
      int r0 = 0;
      for (Job job : jobs) {
        NDArray h = hidden.get(new NDIndex("{}:{}, :{}", r0, r0 + job.rows(), job.length()))
            .reshape(1, (long) job.rows() * job.length(), -1); // (1, B·T, D)
        out.add(ChunkedScoring.score(model, h, job.rows(), job.length(), job.request(), budget));
        r0 += job.rows();
      }
    } finally {
      forwardLock.unlock();
    }
    return out;
  }

  /**
   * One forward pass through the last requested layer, copying out only the requested layers'
   * points: each layer's activations are freed as soon as the next layer has run.
   */
  private Scores.HiddenStates hiddenStates(TokenBatch tokens, ScoreRequest.HiddenStates request) {
    List<Integer> layers = request.layers();
    int last = layers.stream().mapToInt(Integer::intValue).max().orElseThrow();
    Map<Integer, Integer> slot = new java.util.HashMap<>();
    for (int i = 0; i < layers.size(); i++) {
      slot.put(layers.get(i), i);
    }
    float[][][] captured = new float[layers.size()][4][];
    forwardLock.lock();
    try (NDManager m = model.manager().newSubManager()) {
      if (closed) {
        throw new IllegalStateException("the teacher is closed");
      }
      model.backbone().forwardCapturing(tokens.toNDArray(m), last + 1, (layer, in, mixerIn, mixerOut, out) -> {
        Integer i = slot.get(layer);
        if (i != null) {
          captured[i][0] = request.layerInput() ? in.toFloatArray() : null;
          captured[i][1] = request.mixerInput() ? mixerIn.toFloatArray() : null;
          captured[i][2] = request.layerOutput() ? out.toFloatArray() : null;
          captured[i][3] = request.mixerOutput() ? mixerOut.toFloatArray() : null;
        }
      });
    } finally {
      forwardLock.unlock();
    }
    List<Scores.Layer> out = new ArrayList<>(layers.size());
    for (int i = 0; i < layers.size(); i++) {
      out.add(new Scores.Layer(layers.get(i), captured[i][0], captured[i][1], captured[i][2], captured[i][3]));
    }
    return new Scores.HiddenStates(tokens.batch(), tokens.length(), model.config().hiddenSize(), out);
  }

  /** Frees the model if this teacher owns it; waits for a running forward pass. */
  @Override
  public void close() {
    forwardLock.lock();
    try {
      if (!closed && owned != null) {
        owned.close();
      }
      closed = true;
    } finally {
      forwardLock.unlock();
    }
  }
}
