package dev.graft.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.cli.ExperimentArms.Arm;
import dev.graft.cli.ExperimentArms.Study;
import dev.graft.data.Document;
import dev.graft.model.ComputeDevice;
import dev.graft.model.LlamaConfig;
import dev.graft.trainer.Home;
import dev.graft.trainer.data.Corpora;
import dev.graft.trainer.data.HeldOut;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.pretrain.BaseModelJob;
import dev.graft.trainer.pretrain.FromScratch;
import dev.graft.trainer.pretrain.ConsoleProgress;
import dev.graft.trainer.pretrain.HeldOutText;
import dev.graft.trainer.pretrain.PretrainConfig;
import dev.graft.trainer.report.KvSweepTables;
import dev.graft.trainer.report.Spread;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code graft experiment --study kv-sweep}: can a cheap run predict how the number of KV heads
 * ranks? The ground truth is the small architecture pretrained from scratch at 8, 4, 2 and 1 KV
 * heads; the predictors get a tenth of its trained positions each: from scratch for a tenth of the
 * steps, or a GQA retrofit distilled from the MHA base (init mean-pool, keep-one, random) or from
 * the MQA base (init duplicate, random). Every resulting model is scored by NLL on the same
 * held-out text (the MHA base's held-out documents), so models of different kinds compare; each
 * predictor's ranking of the KV-head counts is compared with the ground truth's by Spearman's ρ,
 * per seed and over the seed means.
 */
final class KvSweep {

  /** The KV-head counts swept: MHA, two GQA ratios, MQA (of the small preset's 8 heads). */
  static final List<Integer> KV_HEADS = List.of(8, 4, 2, 1);

  /** The tokenizer vocabulary and split of the embedded base model, which the sweep's models share. */
  private static final PretrainOptions BASE = new PretrainOptions();

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private KvSweep() {}

  /**
   * How big the sweep is.
   *
   * @param seeds runs per predictor and KV-head count
   * @param groundTruthSteps pretraining steps of the ground truth; every predictor gets a tenth of
   *     its trained positions
   * @param evalSequences held-out sequences every model is scored on
   */
  record Sizing(int seeds, long groundTruthSteps, int evalSequences) {
    Sizing {
      if (seeds < 1 || groundTruthSteps < 10 || evalSequences < 1) {
        throw new IllegalArgumentException("kv-sweep needs --seeds >= 1 (got " + seeds + "), ground-truth steps >= 10"
            + " (got " + groundTruthSteps + ", so a tenth is a step) and >= 1 held-out sequence (got "
            + evalSequences + ")");
      }
    }

    /** Steps of the short from-scratch predictor, and the retrofits' budget in steps of the same batch. */
    long shortSteps() {
      return Math.max(1, Math.round(groundTruthSteps / 10.0));
    }

    /** Positions a retrofit trains: a tenth of the ground truth's. */
    long retrofitPositions() {
      PretrainConfig p = PretrainConfig.defaults();
      return shortSteps() * p.batchSize() * p.seqLen();
    }
  }

  /** full: 2 seeds, ground truth 150 steps, 128 held-out sequences; quick: 2 seeds, 20 steps, 16 sequences. */
  static Sizing sizing(String preset) {
    return switch (preset) {
      case "full" -> new Sizing(2, 150, 128);
      case "quick" -> new Sizing(2, 20, 16);
      default -> throw new IllegalArgumentException("unknown --preset '" + preset + "' (expected full or quick)");
    };
  }

  /** Which base a retrofit starts from. */
  enum Base { MHA, MQA }

  /**
   * A way to get a model at a KV-head count: from scratch for {@code steps}, or (steps 0) a GQA
   * retrofit of {@code base} with kv init {@code init}.
   */
  record Predictor(String name, String description, long steps, Base base, String init) {
    boolean fromScratch() {
      return base == null;
    }
  }

  /** The ground truth first, then the predictors. */
  static List<Predictor> predictors(Sizing s) {
    return List.of(
        new Predictor("from_scratch", "ground truth: from scratch, " + s.groundTruthSteps() + " steps",
            s.groundTruthSteps(), null, null),
        new Predictor("from_scratch_10pct", "from scratch, " + s.shortSteps() + " steps", s.shortSteps(), null, null),
        new Predictor("mha_mean_pool", "GQA retrofit of the MHA base, kv init mean_pool", 0, Base.MHA, "mean_pool"),
        new Predictor("mha_keep_one", "GQA retrofit of the MHA base, kv init keep_one", 0, Base.MHA, "keep_one"),
        new Predictor("mha_random", "GQA retrofit of the MHA base, kv init random", 0, Base.MHA, "random"),
        new Predictor("mqa_duplicate", "GQA retrofit of the MQA base, kv init duplicate", 0, Base.MQA, "duplicate"),
        new Predictor("mqa_random", "GQA retrofit of the MQA base, kv init random", 0, Base.MQA, "random"));
  }

  /**
   * Held-out sequences of a retrofit's own before/after evaluation against its teacher (KL, gap
   * recovered): a secondary table; the comparison across predictors is the NLL on {@link Sizing#evalSequences}.
   */
  static final int DISTILL_EVAL_SEQUENCES = 16;

  /**
   * The ground truth and the predictors named in {@code names} (null or empty: every predictor),
   * in the order of {@link #predictors}.
   *
   * @throws IllegalArgumentException for a name that is no predictor, listing them
   */
  static List<Predictor> select(Sizing s, List<String> names) {
    List<Predictor> all = predictors(s);
    if (names == null || names.isEmpty()) {
      return all;
    }
    List<String> known = all.stream().map(Predictor::name).toList();
    for (String n : names) {
      if (!known.contains(n)) {
        throw new IllegalArgumentException("unknown kv-sweep predictor '" + n + "' (expected some of "
            + String.join(", ", known.subList(1, known.size())) + ")");
      }
    }
    return all.stream().filter(p -> p == all.get(0) || names.contains(p.name())).toList();
  }

  /** The distillation arm of retrofit predictor {@code p} at {@code kv} heads, teacher {@code teacher}. */
  static Arm arm(Predictor p, int kv, Path teacher, Sizing s) {
    return new Arm(p.name() + "_kv" + kv, Study.RETROFIT, List.of("teacher.model=" + teacher, "retrofit.type=gqa",
        "retrofit.kv_heads=" + kv, "retrofit.init=" + p.init(), "retrofit.graduality=true",
        "loss.divergence=forward_kl", "onpolicy.fraction=0", "eval.sequences=" + DISTILL_EVAL_SEQUENCES,
        "eval.continuations=0"));
  }

  /**
   * The from-scratch recipe at {@code steps} for seed {@code seed}: the base's (batch 16 × 128,
   * peak lr 2e-3, cosine) with warmup a tenth of the steps, validation and a checkpoint at the end only.
   */
  static PretrainConfig scratch(long steps, int seed) {
    PretrainConfig c = PretrainConfig.defaults().withSteps(steps);
    return c.withLr(c.lr(), Math.max(1, steps / 10)).withIntervals(0, c.evalSequences(), 0)
        .withSeed(c.seed() + seed);
  }

  /** The architecture at {@code kv} heads: the small preset, the base's vocabulary. */
  static LlamaConfig architecture(int vocab, int kv) {
    return LlamaConfig.small(vocab).withNumKeyValueHeads(kv);
  }

  /** Runs the sweep into {@code root}; returns the tables (also written to {@code root/table.md}). */
  static String run(Home home, RunConfig common, Sizing s, Path root, ComputeDevice device, PrintStream o)
      throws IOException {
    return run(home, common, s, predictors(s), null, root, device, o);
  }

  /**
   * Runs the sweep into {@code root}, retrofitting from {@code mqaBase} (null: the {@code small-mqa}
   * base of the home, pretrained the first time); returns the tables, also written to {@code root/table.md}.
   */
  static String run(Home home, RunConfig common, Sizing s, List<Predictor> predictors, Path mqaBase, Path root,
      ComputeDevice device, PrintStream o) throws IOException {
    if (!common.data().corpus().equals("brown") || common.data().seqLen() != PretrainConfig.defaults().seqLen()) {
      throw new IllegalArgumentException("kv-sweep compares against the embedded base models: data.corpus must be"
          + " brown and data.seq_len " + PretrainConfig.defaults().seqLen() + " (got " + common.data().corpus()
          + ", " + common.data().seqLen() + ")");
    }
    long t0 = System.nanoTime();
    Path mha = base("small", home, o, device);
    boolean needsMqa = predictors.stream().anyMatch(p -> p.base() == Base.MQA);
    Path mqa = !needsMqa ? null : mqaBase != null ? checkMqa(mqaBase, mha) : base("small-mqa", home, o, device);
    for (Predictor p : predictors) { // check every retrofit's config before the first run
      if (!p.fromScratch()) {
        RunPlan.of(ExperimentArms.sized(common, arm(p, 1, mha, s), s.retrofitPositions(), 0, "x"));
      }
    }
    List<Document> corpus = Corpora.load(home, null, o);
    FromScratch scratch = FromScratch.of(corpus, home.tokenizer(Corpora.name(null) + "-bpe" + BASE.vocabSize),
        BASE.validationFraction, PretrainConfig.defaults().seed(), PretrainConfig.defaults().seqLen());
    Map<String, List<DistillReport>> reports = new LinkedHashMap<>();
    Map<String, Path[][]> models = new LinkedHashMap<>(); // predictor -> [seed][kv index]
    int total = predictors.size() * KV_HEADS.size() * s.seeds();
    int done = 0;
    for (int seed = 0; seed < s.seeds(); seed++) {
      for (Predictor p : predictors) {
        for (int k = 0; k < KV_HEADS.size(); k++) {
          int kv = KV_HEADS.get(k);
          o.printf(Locale.ROOT, "%n=== kv-sweep: %s, %d KV heads, seed %d (run %d of %d, %.0f min so far) ===%n",
              p.name(), kv, seed, ++done, total, (System.nanoTime() - t0) / 60e9);
          Path model;
          if (p.fromScratch()) {
            model = scratchModel(scratch, root, kv, p.steps(), seed, mha, o, device);
          } else {
            Arm a = arm(p, kv, p.base() == Base.MHA ? mha : mqa, s);
            Path out = root.resolve(p.name()).resolve("kv" + kv).resolve("seed-" + seed);
            RunConfig cfg = ExperimentArms.sized(common, a, s.retrofitPositions(), seed, out.toString());
            reports.computeIfAbsent(a.name(), x -> new ArrayList<>())
                .add(Loopback.run(home, RunPlan.of(cfg), mha, o, true, device));
            model = out.resolve("student");
          }
          models.computeIfAbsent(p.name(), x -> new Path[s.seeds()][KV_HEADS.size()])[seed][k] = model;
        }
      }
    }
    List<KvSweepTables.Predictor> scored = score(predictors, models, mha, corpus, s, o, device);
    double minutes = (System.nanoTime() - t0) / 60e9;
    String table = tables(s, predictors, scored, reports, minutes, mqa == null ? "not in this run"
        : pretrainSteps(mqa) + " steps");
    Files.createDirectories(root);
    Files.writeString(root.resolve("table.md"), table);
    Files.writeString(root.resolve("results.json"), json(s, predictors, scored, reports, minutes));
    return table;
  }

  private static Path base(String preset, Home home, PrintStream o, ComputeDevice device) throws IOException {
    PretrainOptions options = new PretrainOptions();
    options.preset = preset;
    o.printf("%n=== kv-sweep: the %s base model (trained once per home) ===%n", preset);
    return PretrainCommand.ensureBaseModel(home, new CorpusOptions(), options, null, false, o, device);
  }

  /** {@code dir} if it holds an MQA model of the small shape that held out the MHA base's documents. */
  static Path checkMqa(Path dir, Path mha) throws IOException {
    Path config = dir.resolve(dev.graft.checkpoint.HfCheckpoint.CONFIG_FILE);
    if (!Files.isRegularFile(config)) {
      throw new IllegalArgumentException("--mqa-base " + dir + " holds no config.json; train one with `graft pretrain"
          + " --preset small-mqa --out " + dir + "`");
    }
    LlamaConfig c = LlamaConfig.read(config);
    LlamaConfig expected = LlamaConfig.read(mha.resolve(dev.graft.checkpoint.HfCheckpoint.CONFIG_FILE))
        .withNumKeyValueHeads(1);
    if (!c.equals(expected)) {
      throw new IllegalArgumentException("--mqa-base " + dir + " must be the MHA base's shape with one KV head ("
          + expected + "), got " + c);
    }
    requireSameHeldOut(dir, mha);
    return dir;
  }

  private static void requireSameHeldOut(Path model, Path mha) throws IOException {
    String ours = HeldOut.read(model).map(HeldOut::sha256).orElse("none");
    String theirs = HeldOut.read(mha).map(HeldOut::sha256).orElse("none");
    if (!ours.equals(theirs)) {
      throw new IllegalStateException(model + " held out other documents (sha256 " + ours + ") than the base "
          + mha + " (" + theirs + "): its NLL would not be on unseen text");
    }
  }

  /** Trains (or reuses) the from-scratch model; refuses one whose held-out documents are not the base's. */
  private static Path scratchModel(FromScratch scratch, Path root, int kv, long steps, int seed, Path mha,
      PrintStream o, ComputeDevice device) throws IOException {
    Path dir = root.resolve("scratch-" + steps + "-steps").resolve("kv" + kv).resolve("seed-" + seed);
    Path model = dir.resolve("model");
    if (FromScratch.isComplete(model)) {
      o.println("already trained: " + model);
    } else {
      int vocab = LlamaConfig.read(mha.resolve(dev.graft.checkpoint.HfCheckpoint.CONFIG_FILE)).vocabSize();
      try (NDManager manager = device.newManager();
          ConsoleProgress progress = new ConsoleProgress(o, System.console() != null, 10)) {
        scratch.run(architecture(vocab, kv), scratch(steps, seed), dir.resolve("run"), model, manager, progress);
      }
    }
    requireSameHeldOut(model, mha);
    return model;
  }

  private static List<KvSweepTables.Predictor> score(List<Predictor> predictors, Map<String, Path[][]> models,
      Path mha, List<Document> corpus, Sizing s, PrintStream o, ComputeDevice device) throws IOException {
    HeldOutText text = HeldOutText.of(mha, corpus, PretrainConfig.defaults().seqLen(), s.evalSequences());
    o.printf("%n=== kv-sweep: scoring every model on %d of the base's %d held-out sequences ===%n",
        Math.min(s.evalSequences(), text.size()), text.size());
    List<KvSweepTables.Predictor> scored = new ArrayList<>();
    try (NDManager manager = device.newManager()) {
      for (Predictor p : predictors) {
        List<double[]> bySeed = new ArrayList<>();
        for (Path[] seed : models.get(p.name())) {
          double[] nll = new double[seed.length];
          for (int k = 0; k < seed.length; k++) {
            nll[k] = text.score(seed[k], manager).loss();
          }
          bySeed.add(nll);
        }
        scored.add(new KvSweepTables.Predictor(p.name(), p.description(), bySeed));
      }
    }
    return scored;
  }

  static String tables(Sizing s, List<Predictor> predictors, List<KvSweepTables.Predictor> scored,
      Map<String, List<DistillReport>> reports, double minutes, String mqaScale) {
    PretrainConfig p = PretrainConfig.defaults();
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "# KV-head sweep: does a short run rank 8/4/2/1"
            + " KV heads as training from scratch does?%n%nScale: the small architecture (4 layers, d=256, 8 heads)."
            + " Ground truth: pretrained from scratch for %,d steps (%,d tokens; the embedded base model trains"
            + " 1,200). Every predictor gets a tenth of that (%,d positions): from scratch for %,d steps, or a GQA"
            + " retrofit distilled (forward KL, graduality on) from the MHA base (1,200 steps) or the MQA base (%s)."
            + " %d seed%s. Score: NLL (nats per token) on %d held-out sequences of %d tokens of the MHA base's"
            + " held-out documents, which no model trained on.%n%nWall time: %.1f min.%n%n", s.groundTruthSteps(),
        s.groundTruthSteps() * p.batchSize() * p.seqLen(), s.retrofitPositions(), s.shortSteps(), mqaScale, s.seeds(),
        s.seeds() == 1 ? "" : "s", s.evalSequences(), p.seqLen(), minutes));
    sb.append("Predictors:\n\n");
    for (Predictor pr : predictors) {
      sb.append("- ").append(pr.name()).append(": ").append(pr.description()).append('\n');
    }
    sb.append("\n## Held-out NLL (mean ± std over seeds)\n\n").append(KvSweepTables.nllTable(KV_HEADS, scored));
    sb.append("\n## Rankings and rank correlation with the ground truth\n\n")
        .append("Spearman's ρ between each predictor's NLLs over the KV-head counts and the ground truth's (ties at"
            + " their average rank): per seed (seed s against ground-truth seed s), their mean ± std, and ρ of the"
            + " seed means. 1 = the same ranking, −1 = reversed.\n\n")
        .append(KvSweepTables.rankTable(KV_HEADS, scored.get(0), scored.subList(1, scored.size())));
    if (!reports.isEmpty()) {
      sb.append("\n## Retrofits against their teacher (the base they start from)\n\n")
          .append("Forward KL and gap recovered on " + DISTILL_EVAL_SEQUENCES
              + " held-out sequences, as each distillation run reports them.\n\n")
          .append("| arm | seeds | steps | forward KL on held-out text | gap recovered |\n")
          .append("| --- | ---: | ---: | ---: | ---: |\n");
      reports.forEach((arm, runs) -> sb.append("| ").append(arm).append(" | ").append(runs.size()).append(" | ")
          .append(spread(runs, r -> r.outcome().steps()).format("%,.0f", false)).append(" | ")
          .append(spread(runs, r -> r.after().overall().meanKl()).format("%.4f", false)).append(" | ")
          .append(gap(runs)).append(" |\n"));
    }
    return sb.toString();
  }

  /** The steps a model's pretraining report records, or "?" without one. */
  private static String pretrainSteps(Path model) throws IOException {
    Path report = model.resolve(BaseModelJob.REPORT);
    return Files.isRegularFile(report)
        ? String.format(Locale.ROOT, "%,d", JSON.readTree(report.toFile()).path("steps").asLong()) : "?";
  }

  /** Gap recovered, or n/a where the untrained student is the teacher (no gap: at the teacher's KV heads). */
  private static String gap(List<DistillReport> runs) {
    Spread g = spread(runs, r -> r.after().overall().gapRecovered(r.before().overall()));
    return g.values().stream().anyMatch(v -> !Double.isFinite(v)) ? "n/a (no gap to recover)" : g.format("%.1f", true);
  }

  private static Spread spread(List<DistillReport> runs, java.util.function.ToDoubleFunction<DistillReport> f) {
    return new Spread(runs.stream().map(f::applyAsDouble).toList());
  }

  private static String json(Sizing s, List<Predictor> predictors, List<KvSweepTables.Predictor> scored,
      Map<String, List<DistillReport>> reports, double minutes) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    root.put("seeds", s.seeds());
    root.put("ground_truth_steps", s.groundTruthSteps());
    root.put("predictor_positions", s.retrofitPositions());
    root.put("eval_sequences", s.evalSequences());
    root.put("wall_minutes", minutes);
    ArrayNode kv = root.putArray("kv_heads");
    KV_HEADS.forEach(kv::add);
    ArrayNode ps = root.putArray("predictors");
    for (int i = 0; i < scored.size(); i++) {
      KvSweepTables.Predictor p = scored.get(i);
      ObjectNode n = ps.addObject().put("name", p.name()).put("description", predictors.get(i).description());
      ArrayNode seeds = n.putArray("nll_by_seed");
      p.nllBySeed().forEach(v -> {
        ArrayNode a = seeds.addArray();
        for (double x : v) {
          a.add(x);
        }
      });
      if (i > 0) {
        KvSweepTables.Agreement a = KvSweepTables.agreement(scored.get(0), p);
        ArrayNode rho = n.putArray("spearman_per_seed");
        a.perSeed().forEach(rho::add);
        n.put("spearman_of_means", a.ofMeans());
      }
    }
    ObjectNode arms = root.putObject("retrofit_runs");
    reports.forEach((name, runs) -> {
      ArrayNode rs = arms.putArray(name);
      runs.forEach(r -> rs.add(r.toJson()));
    });
    return JSON.writeValueAsString(root);
  }
}
