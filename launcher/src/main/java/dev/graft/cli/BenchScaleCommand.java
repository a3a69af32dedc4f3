package dev.graft.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.sampler.server.SamplerBench;
import dev.graft.teacher.server.TeacherBench;
import dev.graft.trainer.Home;
import dev.graft.trainer.checkpoint.RunCheckpoints;
import dev.graft.trainer.pretrain.TrainStepBench;
import dev.graft.trainer.report.LineChart;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code graft bench scale}: how cost grows from the default model to a Llama-3.2-1B shape, on
 * random weights. Three sweeps — hidden size, vocabulary, sequence length — each from a common
 * base point; at every point the parameters, load time and peak resident memory of a bf16
 * checkpoint (measured in a child JVM by {@code dev.graft.checkpoint.LoadProbe}), teacher
 * tokens/s, trainer tokens/s, wire bytes per token at top-64 in bf16 and sampler tokens/s; and
 * per sweep each figure's growth exponent (the least-squares slope of log figure on log size).
 */
@Command(name = "scale", mixinStandardHelpOptions = true,
    header = "How cost grows with hidden size, vocabulary and sequence length (JSON, table, SVG).",
    description = {"Random-weight models from the default size up to a Llama-3.2-1B shape (hidden 2048, 32/8 "
        + "heads, intermediate 8192, vocabulary 128,256) with --layers layers each (fewer than the real 16, "
        + "stated in the output): parameters, load time and peak memory (bf16 checkpoint loaded by "
        + "dev.graft.checkpoint.LoadProbe in a child JVM), teacher tok/s (in-process top-16), trainer tok/s "
        + "(a pretraining step), wire bytes per token at top-64 bf16, sampler tok/s (batch 1), each with its "
        + "growth exponent in hidden size, vocabulary and sequence length. Writes bench/scale.json, "
        + "bench/scale.txt and one SVG chart per sweep."})
final class BenchScaleCommand implements Callable<Integer> {

  static final String LOAD_PROBE = "dev.graft.checkpoint.LoadProbe";

  @ParentCommand
  BenchCommand bench;

  @Option(names = "--layers", paramLabel = "N", defaultValue = "2",
      description = "Decoder layers of every model. Default: ${DEFAULT-VALUE}.")
  int layers;

  @Option(names = "--quick", description = "Smoke run: tiny sizes, one repetition, seconds.")
  boolean quick;

  /** One model of a sweep: the swept value, its config and the sequence length it runs at. */
  record Point(String sweep, long value, LlamaConfig config, int seqLen) {}

  /**
   * The family of the sweeps, in Llama-3.2's proportions: head size 64 (32 below hidden 512), a
   * quarter of the heads for keys and values, intermediate 4 × hidden, tied embeddings. Built from
   * {@code config.json} keys, as a published checkpoint's config would be.
   */
  static LlamaConfig family(int hidden, int vocab, int layers, int context) {
    int headDim = hidden >= 512 ? 64 : 32;
    int heads = hidden / headDim;
    int kv = Math.max(1, heads / 4);
    return LlamaConfig.fromJson(String.format(Locale.ROOT, "{\"vocab_size\": %d, \"hidden_size\": %d, "
        + "\"intermediate_size\": %d, \"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
        + "\"num_key_value_heads\": %d, \"max_position_embeddings\": %d, \"rms_norm_eps\": 1e-5, "
        + "\"rope_theta\": 500000.0, \"tie_word_embeddings\": true, \"bos_token_id\": 0, "
        + "\"eos_token_id\": 1}", vocab, hidden, 4 * hidden, layers, heads, kv, context));
  }

  List<Point> points() {
    if (layers < 1) {
      throw new IllegalArgumentException("--layers must be >= 1, got " + layers);
    }
    List<Point> p = new ArrayList<>();
    int seq = quick ? 16 : 128;
    int[] hidden = quick ? new int[] {64, 128} : new int[] {256, 512, 1024, 2048};
    int[] vocab = quick ? new int[] {256, 1024} : new int[] {4096, 32768, 128256};
    int[] seqs = quick ? new int[] {16, 32} : new int[] {128, 512, 2048};
    int baseHidden = quick ? 64 : 512;
    int baseVocab = quick ? 256 : 4096;
    int context = quick ? 64 : 4096;
    for (int h : hidden) {
      p.add(new Point("hidden_size", h, family(h, baseVocab, layers, context), seq));
    }
    for (int v : vocab) {
      p.add(new Point("vocab_size", v, family(baseHidden, v, layers, context), seq));
    }
    for (int s : seqs) {
      p.add(new Point("seq_len", s, family(baseHidden, baseVocab, layers, context), s));
    }
    if (!quick) {
      p.add(new Point("llama-3.2-1b-shape", 2048, family(2048, 128256, layers, context), seq));
    }
    return p;
  }

  @Override
  public Integer call() throws Exception {
    Home home = new Home(bench.parent.home);
    List<Point> points = points();
    boolean probe = hasLoadProbe();
    if (!probe) {
      System.out.println("load time and peak memory: not measured (" + LOAD_PROBE + " is not in this build)");
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    Map<String, Map<String, Object>> measured = new LinkedHashMap<>(); // the sweeps share their base point
    for (Point pt : points) {
      String key = pt.config() + "@" + pt.seqLen();
      if (!measured.containsKey(key)) {
        System.out.printf(Locale.ROOT, "%s = %d: %s ...%n", pt.sweep(), pt.value(), pt.config());
        measured.put(key, measure(pt, probe));
      }
      Map<String, Object> row = new LinkedHashMap<>(measured.get(key));
      row.put("sweep", pt.sweep());
      row.put("value", pt.value());
      rows.add(row);
    }
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("layers", layers);
    report.put("note", "every model has " + layers + " layer(s); Llama-3.2-1B has 16");
    report.put("quick", quick);
    report.put("points", rows);
    report.put("growth_exponents", exponents(rows));
    Path dir = home.root().resolve("bench");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("scale.json"),
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
    String text = table(rows, exponents(rows), layers);
    Files.writeString(dir.resolve("scale.txt"), text);
    for (String sweep : List.of("hidden_size", "vocab_size", "seq_len")) {
      Files.writeString(dir.resolve("scale-" + sweep + ".svg"), chart(rows, sweep));
    }
    System.out.print(text);
    System.out.println("written to " + dir.resolve("scale.json") + ", scale.txt and scale-*.svg");
    return 0;
  }

  private Map<String, Object> measure(Point pt, boolean probe) throws Exception {
    LlamaConfig c = pt.config();
    int batch = quick ? 1 : 2;
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("sweep", pt.sweep());
    row.put("value", pt.value());
    row.put("hidden_size", c.hiddenSize());
    row.put("vocab_size", c.vocabSize());
    row.put("seq_len", pt.seqLen());
    row.put("parameters", c.parameterCount());
    Path dir = Files.createTempDirectory("graft-scale");
    try {
      try (NDManager m = NDManager.newBaseManager(); LlamaModel model = LlamaModel.random(c, m, 1)) {
        HfCheckpoint.save(dir, c, model.namedParameters(), Dtype.BF16, 2L << 30);
      }
      if (probe) {
        row.putAll(loadProbe(dir));
      }
      TeacherBench.Result t = TeacherBench.run(new TeacherBench.Config(dir, null, 1, batch, pt.seqLen(), 1));
      row.put("teacher_tokens_per_second", t.tokensPerSecond().get("in_process/top_k16"));
      row.put("wire_bytes_per_token_top64_bf16", t.bytesPerToken().get("top_k64/bf16"));
    } finally {
      RunCheckpoints.deleteTree(dir);
    }
    TrainStepBench.Result tr = TrainStepBench.run(c, batch, pt.seqLen(), 1, 1, 1, System::nanoTime, false);
    row.put("trainer_tokens_per_second", batch * (double) pt.seqLen() / tr.stepSeconds());
    int newTokens = quick ? 4 : 16;
    SamplerBench.Result s = SamplerBench.run(new SamplerBench.Config(c, 1, 8, newTokens, List.of(1)), false);
    row.put("sampler_tokens_per_second", s.tokensPerSecond().get("kv_cache/batch1"));
    return row;
  }

  static boolean hasLoadProbe() {
    try {
      Class.forName(LOAD_PROBE);
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  /** Runs the load probe on {@code dir} in a child JVM with this JVM's classpath; its JSON line. */
  static Map<String, Object> loadProbe(Path dir) throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"),
        LOAD_PROBE, dir.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException(LOAD_PROBE + " failed on " + dir + " (exit "
          + (p.isAlive() ? "timeout" : p.exitValue()) + "): " + out.strip());
    }
    String last = out.strip().lines().reduce((a, b) -> b).orElse("");
    JsonNode j;
    try {
      j = new ObjectMapper().readTree(last);
    } catch (IOException e) {
      throw new IllegalStateException(LOAD_PROBE + " printed no JSON line: '" + last + "'", e);
    }
    Map<String, Object> m = new LinkedHashMap<>();
    for (String key : List.of("load_seconds", "peak_rss_bytes", "peak_over_fp32")) {
      if (!j.has(key)) {
        throw new IllegalStateException(LOAD_PROBE + " output lacks '" + key + "': " + last);
      }
      m.put(key, j.get(key).asDouble());
    }
    return m;
  }

  static final List<String> METRICS = List.of("parameters", "load_seconds", "peak_rss_bytes",
      "teacher_tokens_per_second", "trainer_tokens_per_second", "wire_bytes_per_token_top64_bf16",
      "sampler_tokens_per_second");

  /** Per sweep and metric: the least-squares slope of log(metric) on log(swept value). */
  static Map<String, Map<String, Double>> exponents(List<Map<String, Object>> rows) {
    Map<String, Map<String, Double>> out = new LinkedHashMap<>();
    for (String sweep : List.of("hidden_size", "vocab_size", "seq_len")) {
      Map<String, Double> slopes = new LinkedHashMap<>();
      for (String metric : METRICS) {
        List<double[]> xy = new ArrayList<>();
        for (Map<String, Object> r : rows) {
          if (r.get("sweep").equals(sweep) && r.get(metric) instanceof Number n && n.doubleValue() > 0) {
            xy.add(new double[] {Math.log(((Number) r.get("value")).doubleValue()), Math.log(n.doubleValue())});
          }
        }
        if (xy.size() >= 2) {
          slopes.put(metric, slope(xy));
        }
      }
      out.put(sweep, slopes);
    }
    return out;
  }

  static double slope(List<double[]> xy) {
    double mx = xy.stream().mapToDouble(p -> p[0]).average().orElseThrow();
    double my = xy.stream().mapToDouble(p -> p[1]).average().orElseThrow();
    double sxy = 0;
    double sxx = 0;
    for (double[] p : xy) {
      sxy += (p[0] - mx) * (p[1] - my);
      sxx += (p[0] - mx) * (p[0] - mx);
    }
    if (sxx == 0) {
      throw new IllegalArgumentException("a growth exponent needs at least two different sizes");
    }
    return sxy / sxx;
  }

  private static String table(List<Map<String, Object>> rows, Map<String, Map<String, Double>> exps, int layers) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "every model has %d layer(s)%n", layers));
    sb.append(String.format(Locale.ROOT, "%-20s %8s %14s %8s %10s %12s %12s %10s %12s%n", "sweep", "value",
        "parameters", "load s", "peak MB", "teacher t/s", "trainer t/s", "wire B/t", "sampler t/s"));
    for (Map<String, Object> r : rows) {
      sb.append(String.format(Locale.ROOT, "%-20s %8d %14d %8s %10s %12.0f %12.0f %10.1f %12.1f%n", r.get("sweep"),
          ((Number) r.get("value")).longValue(), ((Number) r.get("parameters")).longValue(),
          r.containsKey("load_seconds") ? String.format(Locale.ROOT, "%.2f", (Double) r.get("load_seconds")) : "-",
          r.containsKey("peak_rss_bytes") ? String.format(Locale.ROOT, "%.0f", (Double) r.get("peak_rss_bytes") / 1e6)
              : "-",
          num(r, "teacher_tokens_per_second"), num(r, "trainer_tokens_per_second"),
          num(r, "wire_bytes_per_token_top64_bf16"), num(r, "sampler_tokens_per_second")));
    }
    sb.append(System.lineSeparator()).append("growth exponents (d log figure / d log size):").append(System.lineSeparator());
    exps.forEach((sweep, m) -> {
      sb.append(String.format(Locale.ROOT, "  %-12s", sweep));
      m.forEach((metric, e) -> sb.append(String.format(Locale.ROOT, " %s %.2f;", metric, e)));
      sb.append(System.lineSeparator());
    });
    return sb.toString();
  }

  private static double num(Map<String, Object> r, String key) {
    return r.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
  }

  /** Tokens per second of each role along one sweep, relative to its first point. */
  private static String chart(List<Map<String, Object>> rows, String sweep) {
    LineChart chart = new LineChart("Throughput relative to the smallest " + sweep, sweep, "tok/s (x first point)");
    for (String metric : List.of("teacher_tokens_per_second", "trainer_tokens_per_second",
        "sampler_tokens_per_second")) {
      List<LineChart.Point> pts = new ArrayList<>();
      double first = Double.NaN;
      for (Map<String, Object> r : rows) {
        if (r.get("sweep").equals(sweep)) {
          double y = num(r, metric);
          first = Double.isNaN(first) ? y : first;
          pts.add(LineChart.Point.of(((Number) r.get("value")).doubleValue(), y / first));
        }
      }
      chart.markers(metric.replace("_tokens_per_second", ""), pts);
    }
    return chart.svg();
  }
}
