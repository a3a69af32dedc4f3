package dev.graft.teacher.server;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.graft.data.TokenBatch;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.proto.v1.DType;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherLimits;
import dev.graft.teacher.TeacherProtos;
import dev.graft.teacher.TeacherScorer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Benchmark (not a test): on one (B, T) shape, the teacher's scoring throughput in this process
 * and through gRPC on loopback, and the wire cost of each output mode and dtype in bytes per
 * scored token (serialized {@code ScoreChunk} bytes / B·T).
 *
 * <p>{@code java ... TeacherBench [--checkpoint DIR | --preset tiny|small] [--vocab 4096]
 * [--batch 8] [--seq 128] [--reps 5]} prints the result as JSON.
 */
public final class TeacherBench {

  private TeacherBench() {}

  /**
   * @param checkpoint a checkpoint directory, or null to use {@code preset} with random weights
   * @param preset the model when there is no checkpoint
   * @param batch B; {@code seq} T; {@code reps} timed repetitions after one warm-up
   */
  public record Config(Path checkpoint, LlamaConfig preset, long seed, int batch, int seq, int reps) {
    public Config {
      if (batch < 1 || seq < 1 || reps < 1) {
        throw new IllegalArgumentException("batch (" + batch + "), seq (" + seq + ") and reps ("
            + reps + ") must be >= 1");
      }
      if (checkpoint == null && preset == null) {
        throw new IllegalArgumentException("give a checkpoint directory or a preset config");
      }
    }
  }

  /**
   * @param tokensPerSecond by {@code path/mode}, e.g. {@code in_process/top_k16}, {@code grpc/full}
   * @param bytesPerToken by {@code mode/dtype}, e.g. {@code top_k16/bf16}
   */
  public record Result(String model, long parameters, int vocab, int batch, int seq, int reps,
      Map<String, Double> tokensPerSecond, Map<String, Double> bytesPerToken) {

    public Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("model", model);
      m.put("parameters", parameters);
      m.put("vocab", vocab);
      m.put("batch", batch);
      m.put("seq", seq);
      m.put("reps", reps);
      m.put("tokens_per_second", tokensPerSecond);
      m.put("wire_bytes_per_token", bytesPerToken);
      return m;
    }
  }

  private static final List<DType> DTYPES = TeacherProtos.VALUE_TYPES;

  /** Runs the benchmark. */
  public static Result run(Config c) throws IOException {
    try (NDManager manager = NDManager.newBaseManager();
        LocalTeacher teacher = open(c, manager)) {
      int vocab = teacher.info().vocabSize();
      TokenBatch tokens = randomTokens(c.batch(), c.seq(), vocab, c.seed());
      Map<String, ScoreRequest> modes = new LinkedHashMap<>();
      modes.put("top_k16", new ScoreRequest.TopK(Math.min(16, vocab), 1f));
      modes.put("top_k64", new ScoreRequest.TopK(Math.min(64, vocab), 1f));
      modes.put("full", new ScoreRequest.Full(1f));
      Map<String, Double> bytes = new LinkedHashMap<>();
      for (var mode : modes.entrySet()) {
        Scores scores = teacher.score(tokens, mode.getValue());
        for (DType dtype : DTYPES) {
          bytes.put(mode.getKey() + "/" + name(dtype),
              wireBytes(scores, dtype, vocab) / (double) (c.batch() * c.seq()));
        }
      }
      Map<String, Double> speed = new LinkedHashMap<>();
      for (String mode : List.of("top_k16", "full")) {
        speed.put("in_process/" + mode, tokensPerSecond(teacher, tokens, modes.get(mode), c.reps()));
      }
      try (TeacherServer server = TeacherServer.builder().teacher(teacher).build().start();
          TeacherClient client = TeacherClient.connect(List.of("localhost:" + server.port()))) {
        for (String mode : List.of("top_k16", "full")) {
          speed.put("grpc/" + mode, tokensPerSecond(client, tokens, modes.get(mode), c.reps()));
        }
      }
      String model = c.checkpoint() != null ? c.checkpoint().toString() : "random " + teacher.config();
      return new Result(model, teacher.info().parameterCount(), vocab, c.batch(), c.seq(),
          c.reps(), speed, bytes);
    }
  }

  private static LocalTeacher open(Config c, NDManager manager) throws IOException {
    int maxTokens = Math.max(c.batch() * c.seq(), TeacherLimits.DEFAULT_MAX_TOKENS_PER_REQUEST);
    if (c.checkpoint() != null) {
      return LocalTeacher.load(c.checkpoint(), 0, maxTokens);
    }
    LlamaModel model = LlamaModel.random(c.preset(), manager, c.seed());
    return new LocalTeacher(model,
        new TeacherLimits(c.preset().maxPositionEmbeddings(), maxTokens));
  }

  /**
   * Sum of the serialized sizes of every chunk of {@code scores} at the default budget, each
   * carrying a SHA-256 model fingerprint (64 hex characters) as served chunks do.
   */
  public static long wireBytes(Scores scores, DType dtype, int vocab) {
    long total = 0;
    ScoreChunker chunks = new ScoreChunker(scores, dtype, vocab, TeacherServerOptions.DEFAULT_CHUNK_BYTES,
        "0".repeat(64));
    while (chunks.hasNext()) {
      total += chunks.next().getSerializedSize();
    }
    return total;
  }

  private static double tokensPerSecond(TeacherScorer scorer, TokenBatch tokens, ScoreRequest request,
      int reps) {
    scorer.score(tokens, request); // warm-up
    long start = System.nanoTime();
    for (int i = 0; i < reps; i++) {
      scorer.score(tokens, request);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    return (double) reps * tokens.batch() * tokens.length() / seconds;
  }

  private static TokenBatch randomTokens(int b, int t, int vocab, long seed) {
    Random rng = new Random(seed); // row by row, as the benchmark always drew them
    int[] out = new int[b * t];
    for (int i = 0; i < out.length; i++) {
      out[i] = rng.nextInt(vocab);
    }
    return new TokenBatch(b, t, out);
  }

  private static String name(DType dtype) {
    return switch (dtype) {
      case DTYPE_FLOAT16 -> "fp16";
      case DTYPE_BFLOAT16 -> "bf16";
      default -> "fp32";
    };
  }

  public static void main(String[] args) throws IOException {
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
    Map<String, String> a = new LinkedHashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      a.put(args[i], args[i + 1]);
    }
    int vocab = Integer.parseInt(a.getOrDefault("--vocab", "4096"));
    LlamaConfig preset = a.getOrDefault("--preset", "small").equals("tiny")
        ? LlamaConfig.tiny(vocab) : LlamaConfig.small(vocab);
    Config c = new Config(a.containsKey("--checkpoint") ? Path.of(a.get("--checkpoint")) : null,
        preset, 1, Integer.parseInt(a.getOrDefault("--batch", "8")),
        Integer.parseInt(a.getOrDefault("--seq", "128")),
        Integer.parseInt(a.getOrDefault("--reps", "5")));
    Result r = run(c);
    System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
        .writeValueAsString(r.toMap()));
  }
}
