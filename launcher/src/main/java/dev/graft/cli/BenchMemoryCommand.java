package dev.graft.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.data.TokenBatch;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.model.VocabBudget;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherLimits;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.teacher.server.TeacherServer;
import dev.graft.trainer.Home;
import dev.graft.trainer.loss.ChunkedHeadLoss;
import dev.graft.trainer.loss.DistillationLoss;
import dev.graft.trainer.loss.Divergence;
import dev.graft.trainer.loss.TeacherTargets;
import dev.graft.trainer.optim.AdamW;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code graft bench memory}: the peak resident memory (VmHWM) of a teacher-service under load and
 * of a trainer step, each in a process of its own, at several vocabularies with the same request
 * sizes, beside the bound the vocabulary budget predicts. Random-weight models of the default
 * shape with the vocabulary changed.
 */
@Command(name = "memory", mixinStandardHelpOptions = true,
    header = "Peak resident memory of a teacher-service and a trainer step per vocabulary.",
    description = {"Starts a teacher-service (random weights, the default model's shape at each vocabulary) in a "
        + "process of its own, scores with several concurrent clients from this one, and reports the service's "
        + "peak resident memory (VmHWM); then one trainer step (forward KL against top-k targets, AdamW) in a "
        + "process of its own. Beside each: the predicted bound 2 x (resident state + budget), where the "
        + "state is the weights for the teacher and weights, gradients and two AdamW moments for the trainer, "
        + "to compare with the peak above the process's base (JVM and engine: resident after loading, less "
        + "the weights). Linux only (reads /proc). Report: HOME/bench/memory.json."})
final class BenchMemoryCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MIB = 1L << 20;

  @ParentCommand
  BenchCommand bench;

  @Option(names = "--vocabs", paramLabel = "V,V,...", split = ",", defaultValue = "4096,32768,131072",
      description = "Vocabulary sizes. Default: ${DEFAULT-VALUE}.")
  List<Integer> vocabs;

  @Option(names = "--preset", paramLabel = "NAME", defaultValue = "small",
      description = "Model shape: small (the default base model) or tiny. Default: ${DEFAULT-VALUE}.")
  String preset;

  @Option(names = "--vocab-budget-mb", paramLabel = "MIB", defaultValue = "256",
      description = "Budget of (positions x vocabulary) buffers in both processes. Default: ${DEFAULT-VALUE}.")
  long budgetMb;

  @Option(names = "--clients", paramLabel = "N", defaultValue = "8",
      description = "Concurrent teacher clients. Default: ${DEFAULT-VALUE}.")
  int clients;

  @Option(names = "--requests", paramLabel = "N", defaultValue = "4",
      description = "Requests per client. Default: ${DEFAULT-VALUE}.")
  int requests;

  @Option(names = "--request", paramLabel = "BxT", defaultValue = "4x128",
      description = "Shape of one teacher request. Default: ${DEFAULT-VALUE}.")
  String request;

  @Option(names = "--output", paramLabel = "KIND", defaultValue = "top_k",
      description = "Teacher output kind: top_k (k = --k), full or targets. Default: ${DEFAULT-VALUE}.")
  String output;

  @Option(names = "--k", paramLabel = "K", defaultValue = "64", description = "Top-k k. Default: ${DEFAULT-VALUE}.")
  int k;

  @Option(names = "--train-batch", paramLabel = "BxT", defaultValue = "16x128",
      description = "Trainer step shape (one micro-batch). Default: ${DEFAULT-VALUE}.")
  String trainBatch;

  @Option(names = "--heap-mb", paramLabel = "MIB", defaultValue = "2048",
      description = "Java heap of each measured process (-Xmx); 0 = the JVM's default. Default: ${DEFAULT-VALUE}.")
  long heapMb;

  @Override
  public Integer call() throws Exception {
    VocabBudget budget = VocabBudget.ofMegabytes(budgetMb, "--vocab-budget-mb");
    int[] req = shape(request, "--request");
    int[] train = shape(trainBatch, "--train-batch");
    if (clients < 1 || requests < 1 || k < 1 || heapMb < 0 || !List.of("top_k", "full", "targets").contains(output)) {
      throw new IllegalArgumentException("--clients (" + clients + "), --requests (" + requests + ") and --k (" + k
          + ") must be >= 1, --heap-mb (" + heapMb + ") >= 0 and --output (" + output + ") top_k, full or targets");
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    for (int vocab : vocabs) {
      LlamaConfig config = config(preset, vocab);
      long weights = config.parameterCount() * Float.BYTES;
      Map<String, Object> teacher = teacherRun(config, budget, req);
      teacher.put("predicted_bound_mb", 2 * (weights + budget.bytes()) / MIB);
      rows.add(teacher);
      print(teacher);
      Map<String, Object> trainer = child("trainer", config, budget, train);
      trainer.put("predicted_bound_mb", 2 * (4 * weights + budget.bytes()) / MIB);
      rows.add(trainer);
      print(trainer);
    }
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("preset", preset);
    report.put("vocab_budget_mb", budgetMb);
    report.put("teacher", Map.of("clients", clients, "requests_per_client", requests, "request", request,
        "output", output, "k", k));
    report.put("trainer_step", trainBatch);
    report.put("heap_mb", heapMb);
    report.put("rows", rows);
    BenchCommand.write(new Home(bench.parent.home), "memory", report);
    return 0;
  }

  /**
   * Adds the process's base (JVM, engine and code: resident after loading, less the weights) and
   * the peak above it, which is what the predicted bound describes; prints one line.
   */
  private static void print(Map<String, Object> r) {
    long base = ((Number) r.get("rss_after_load_mb")).longValue() - ((Number) r.get("weights_mb")).longValue();
    long above = ((Number) r.get("peak_mb")).longValue() - base;
    r.put("base_mb", base);
    r.put("peak_above_base_mb", above);
    System.out.printf(Locale.ROOT, "%-8s V %,7d  weights %,6d MiB  base %,5d MiB  peak %,6d MiB  peak - base %,6d MiB"
            + "  bound 2 x (state + budget) %,6d MiB%n", r.get("role"), r.get("vocab"), r.get("weights_mb"), base,
        r.get("peak_mb"), above, r.get("predicted_bound_mb"));
  }

  /** The teacher in a child process; the clients in this one, so their answers do not count. */
  private Map<String, Object> teacherRun(LlamaConfig config, VocabBudget budget, int[] req) throws Exception {
    Process p = start("teacher", config, budget, req);
    try (BufferedReader out = reader(p)) {
      int port = Integer.parseInt(expectLine(out, p).replace("port ", "").trim());
      ScoreRequest r = switch (output) {
        case "full" -> new ScoreRequest.Full(1f);
        case "targets" -> new ScoreRequest.Targets(tokens(req[0], req[1], config.vocabSize(), 99), 1f);
        default -> new ScoreRequest.TopK(Math.min(k, config.vocabSize()), 1f);
      };
      ExecutorService pool = Executors.newFixedThreadPool(clients);
      try (TeacherClient client = TeacherClient.connect(List.of("localhost:" + port))) {
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
          int seed = c;
          done.add(pool.submit(() -> {
            for (int i = 0; i < requests; i++) {
              client.score(tokens(req[0], req[1], config.vocabSize(), seed * 1000L + i), r);
            }
            return null;
          }));
        }
        for (Future<?> f : done) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      p.getOutputStream().close(); // tells the child to report and exit
      return result(expectLine(out, p), p);
    }
  }

  private Map<String, Object> child(String role, LlamaConfig config, VocabBudget budget, int[] shape)
      throws Exception {
    Process p = start(role, config, budget, shape);
    p.getOutputStream().close();
    try (BufferedReader out = reader(p)) {
      return result(expectLine(out, p), p);
    }
  }

  private Process start(String role, LlamaConfig config, VocabBudget budget, int[] shape) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    if (heapMb > 0) {
      cmd.add("-Xmx" + heapMb + "m");
    }
    cmd.addAll(List.of("-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"),
        Child.class.getName(), role, preset, String.valueOf(config.vocabSize()), String.valueOf(budget.bytes()),
        String.valueOf(shape[0]), String.valueOf(shape[1]), String.valueOf(k)));
    return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> result(String json, Process p) throws Exception {
    if (p.waitFor() != 0) {
      throw new IllegalStateException("the measured process failed with exit code " + p.exitValue());
    }
    return JSON.readValue(json, LinkedHashMap.class);
  }

  private static BufferedReader reader(Process p) {
    return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
  }

  /** The child's next protocol line (lines it did not start with '@' are its log, passed through). */
  private static String expectLine(BufferedReader out, Process p) throws IOException {
    for (String line = out.readLine(); line != null; line = out.readLine()) {
      if (line.startsWith("@")) {
        return line.substring(1);
      }
      System.err.println(line);
    }
    throw new IllegalStateException("the measured process ended without a report (exit " + p.onExit().join().exitValue() + ")");
  }

  private static int[] shape(String s, String what) {
    String[] parts = s.toLowerCase(Locale.ROOT).split("x");
    try {
      int[] out = {Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim())};
      if (parts.length == 2 && out[0] >= 1 && out[1] >= 1) {
        return out;
      }
    } catch (RuntimeException e) {
      // reported below
    }
    throw new IllegalArgumentException(what + " '" + s + "' must be BxT with both >= 1, e.g. 4x128");
  }

  static LlamaConfig config(String preset, int vocab) {
    return switch (preset) {
      case "small" -> LlamaConfig.small(vocab);
      case "tiny" -> LlamaConfig.tiny(vocab);
      default -> throw new IllegalArgumentException("--preset '" + preset + "' must be small or tiny");
    };
  }

  static TokenBatch tokens(int b, int t, int vocab, long seed) {
    Random rng = new Random(seed);
    int[] ids = new int[b * t];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = rng.nextInt(vocab);
    }
    return new TokenBatch(b, t, ids);
  }

  /** The measured process: {@code role preset vocab budgetBytes B T k}; reports lines starting with '@'. */
  static final class Child {
    private Child() {}

    public static void main(String[] a) throws Exception {
      String role = a[0];
      LlamaConfig config = config(a[1], Integer.parseInt(a[2]));
      VocabBudget budget = new VocabBudget(Long.parseLong(a[3]));
      int b = Integer.parseInt(a[4]);
      int t = Integer.parseInt(a[5]);
      int k = Math.min(Integer.parseInt(a[6]), config.vocabSize());
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("role", role);
      r.put("vocab", config.vocabSize());
      r.put("weights_mb", config.parameterCount() * Float.BYTES / MIB);
      try (NDManager m = NDManager.newBaseManager()) {
        LlamaModel model = LlamaModel.random(config, m, 1);
        r.put("rss_after_load_mb", status("VmRSS") / 1024);
        if (role.equals("teacher")) {
          serve(model, budget);
        } else {
          trainStep(model, budget, b, t, k);
        }
      }
      r.put("peak_mb", status("VmHWM") / 1024);
      System.out.println("@" + JSON.writeValueAsString(r));
    }

    /** Serves until standard input closes. */
    private static void serve(LlamaModel model, VocabBudget budget) throws IOException {
      try (LocalTeacher teacher = new LocalTeacher(model, TeacherLimits.of(model.config().maxPositionEmbeddings()),
          budget); TeacherServer server = TeacherServer.builder().teacher(teacher).build().start()) {
        System.out.println("@port " + server.port());
        System.out.flush();
        while (System.in.read() >= 0) {
          // wait for the parent to close our input
        }
      }
    }

    /** One distillation step as the trainer takes it: chunked head and forward KL, backward, AdamW. */
    private static void trainStep(LlamaModel model, VocabBudget budget, int b, int t, int k) {
      int vocab = model.config().vocabSize();
      Map<String, NDArray> params = model.namedParameters();
      params.values().forEach(p -> p.setRequiresGradient(true));
      int chunk = ChunkedHeadLoss.chunkPositions(budget, vocab);
      Random rng = new Random(2);
      try (AdamW opt = new AdamW(params, AdamW.matricesDecay(params), AdamW.Hyper.defaults(0), model.manager())) {
        for (int step = 0; step < 2; step++) { // the second step runs with the optimizer state allocated
          try (NDManager m = model.manager().newSubManager();
              GradientCollector gc = m.getEngine().newGradientCollector()) {
            NDArray hidden = model.hidden(tokens(b, t, vocab, step).toNDArray(m)); // (b, T, hidden)
            ChunkedHeadLoss.backward(gc, hidden, model::logits, (logits, p0, p1) -> DistillationLoss.sum(
                new Divergence.ForwardKl(), logits, targets(logits.getManager(), p1 - p0, k, vocab, rng),
                logits.getManager().ones(new Shape(1, p1 - p0)), 1f), b * t, chunk);
          }
          opt.update(1e-4);
        }
      }
    }

    /** Top-k targets as a teacher sends them: distinct ids, k log-probs and a tail. */
    private static TeacherTargets targets(NDManager m, int n, int k, int vocab, Random rng) {
      long[] ids = new long[n * k];
      float[] lp = new float[n * k];
      float[] tail = new float[n];
      for (int p = 0; p < n; p++) {
        int first = rng.nextInt(vocab);
        for (int j = 0; j < k; j++) {
          ids[p * k + j] = (first + j) % vocab;
          lp[p * k + j] = (float) Math.log(0.9 / k);
        }
        tail[p] = k == vocab ? Float.NEGATIVE_INFINITY : (float) Math.log(0.1);
      }
      return new TeacherTargets.TopK(m.create(ids, new Shape(1, n, k)), m.create(lp, new Shape(1, n, k)),
          m.create(tail, new Shape(1, n)));
    }

    /** A {@code /proc/self/status} field in kB, or -1 where there is none (not Linux). */
    private static long status(String field) throws IOException {
      Path status = Path.of("/proc/self/status");
      if (!Files.isReadable(status)) {
        return -1;
      }
      for (String line : Files.readAllLines(status)) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").trim());
        }
      }
      return -1;
    }
  }
}
