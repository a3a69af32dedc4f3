package dev.graft.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.cli.ExperimentArms.Arm;
import dev.graft.cli.ExperimentArms.Study;
import dev.graft.trainer.Home;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.report.ExperimentReportPage;
import dev.graft.trainer.report.ExperimentTables;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code graft experiment}: the seeds' central claim (on-policy &gt; off-policy ≫ none) and the
 * retrofit's design choices, tested at an equal budget of trained target positions per arm, over
 * several seeds, on three evaluations; tables, results and report.html.
 */
@Command(name = "experiment", mixinStandardHelpOptions = true,
    header = "On-policy vs off-policy vs none, and the retrofits' choices, at equal budgets over seeds.",
    sortOptions = false,
    description = {"Retrofits the embedded base model once per arm and seed. Every arm trains the "
            + "same number of target positions (--positions): a corpus row trains data.seq_len "
            + "positions, a rollout row at most onpolicy.max_new_tokens, so rollout arms take more "
            + "steps.",
        "",
        "Studies (--study): objectives: cross_entropy; corpus_fkl, corpus_rkl (corpus rows, forward/reverse KL); "
            + "rollout_fkl, rollout_rkl (the student's own rollouts, forward/reverse KL); mixed_rkl "
            + "(half and half, reverse KL). retrofit (corpus rows, forward KL; baseline corpus_fkl = 2 "
            + "KV heads, mean-pool, gradual): kv2_mean_pool_abrupt (graduality off); kv2/kv1 x "
            + "mean_pool/keep_one/random. graduality: int4_gradual vs int4_abrupt (retrofit.type quant, bits 4), "
            + "and the hybrid retrofit's gradual vs abrupt where this build has it. hybrid, seqkd: the hybrid "
            + "retrofit's attention share with vs without alignment stages, and SeqKD + KL vs KL (where this "
            + "build has the keys). kv-sweep: the small architecture pretrained from scratch at 8/4/2/1 KV heads "
            + "(ground truth) against predictors that get a tenth of its positions (from scratch for a tenth of "
            + "the steps; GQA retrofits of the MHA base with init mean_pool/keep_one/random and of the MQA base "
            + "with duplicate/random), all scored by NLL on the base's held-out text; each predictor's ranking "
            + "of the KV-head counts against the ground truth's by Spearman's rho per seed and over seed means.",
        "",
        "Evaluations per arm, overall and per genre: forward KL, gap recovered and top-1 "
            + "agreement on held-out text; the teacher's NLL and the reverse KL on the student's own "
            + "continuations of held-out document beginnings. Mean +- sample std over seeds, and which "
            + "differences exceed the seed spread. Writes "
            + "HOME/runs/experiment[-STUDY][-quick]/{table.md,results.json} (and report.html but for kv-sweep); "
            + "no suffix for the preset's own studies at --preset full, so a smoke run or a single study keeps "
            + "the full results. --config/--set apply to every arm; train.steps and the schedule are set per arm "
            + "from the budget."})
final class ExperimentCommand implements Callable<Integer> {

  @ParentCommand
  GraftCommand parent;

  @Option(names = "--preset", defaultValue = "full", paramLabel = "NAME",
      description = {"full: 3 seeds, 65,536 positions per arm, the objectives and retrofit studies (about 40 min "
              + "on 2 cores); kv-sweep: 2 seeds, ground truth 150 pretraining steps, predictors a tenth, "
              + "128 held-out sequences;",
          "quick: 2 seeds, 8,192 positions, smaller evaluations (a smoke run of every "
              + "part of the output, 5 to 7 min); kv-sweep: 2 seeds, 20 steps, 16 sequences.",
          "Default: ${DEFAULT-VALUE}."})
  String preset;

  @Option(names = "--seeds", paramLabel = "N", description = "Seeds per arm (overrides the preset).")
  Integer seeds;

  @Option(names = "--positions", paramLabel = "N",
      description = "Trained target positions per arm (overrides the preset).")
  Long positions;

  @Option(names = "--study", paramLabel = "NAME",
      description = "objectives | retrofit | graduality | hybrid | seqkd | all (every study but kv-sweep) | "
          + "kv-sweep (overrides the preset's arms); several joined by commas, e.g. hybrid,seqkd.")
  String study;

  @Option(names = "--arms", paramLabel = "NAME", split = ",",
      description = "Run only these arms of the chosen studies, by name (e.g. hybrid_half_gradual,"
          + "hybrid_half_abrupt); an arm the studies do not have is an error.")
  List<String> only;

  @Option(names = "--ground-truth-steps", paramLabel = "N",
      description = "kv-sweep: pretraining steps of the from-scratch ground truth, >= 10; the predictors get a "
          + "tenth of its positions (overrides the preset).")
  Long groundTruthSteps;

  @Option(names = "--heldout-sequences", paramLabel = "N",
      description = "kv-sweep: held-out sequences every model is scored on (overrides the preset).")
  Integer heldoutSequences;

  @Option(names = "--predictors", paramLabel = "NAME", split = ",",
      description = "kv-sweep: only these predictors beside the ground truth (from_scratch_10pct, mha_mean_pool, "
          + "mha_keep_one, mha_random, mqa_duplicate, mqa_random). Default: all.")
  List<String> predictors;

  @Option(names = "--mqa-base", paramLabel = "DIR",
      description = "kv-sweep: the MQA base to retrofit from (default: HOME/models/base-small-mqa-brown, trained "
          + "by `graft pretrain --preset small-mqa` the first time).")
  Path mqaBase;

  @Option(names = "--store", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = {"Score the training sequences the arms draw once into a target store (DIR/target-store, "
          + "see `graft score`) that every arm with corpus rows and a teacher loss reads instead of asking the "
          + "teacher again: the same losses, less scoring. --no-store asks the teacher in every arm. "
          + "Default: on."})
  boolean store = true;

  @Mixin
  RunOptions run = new RunOptions();

  @Mixin
  DeviceOption device = new DeviceOption();

  /** What a preset sets; the options override it. */
  record Preset(int seeds, long positions, List<Study> studies, List<String> overrides) {}

  static Preset preset(String name) {
    return switch (name) {
      case "full" -> new Preset(3, 65_536, List.of(Study.OBJECTIVES, Study.RETROFIT), List.of());
      case "quick" -> new Preset(2, 8_192, List.of(Study.OBJECTIVES, Study.RETROFIT),
          List.of("eval.sequences=32", "eval.continuations=16"));
      default -> throw new IllegalArgumentException("unknown --preset '" + name + "' (expected full or quick)");
    };
  }

  /** Where a preset's runs and tables go: a quick smoke run never overwrites the full results. */
  static String directory(String preset) {
    return directory(preset, null);
  }

  /** Where a preset's runs of {@code study} (null: the preset's own studies) go; each its own directory. */
  static String directory(String preset, String study) {
    return "experiment" + (study == null ? "" : "-" + study.replace(',', '+'))
        + (preset.equals("full") ? "" : "-" + preset);
  }

  /** The --study that is not a set of distillation arms. */
  static final String KV_SWEEP = "kv-sweep";

  static List<Study> studies(String name, Preset p) {
    if (name == null) {
      return p.studies();
    }
    if (name.contains(",")) {
      List<Study> out = new java.util.ArrayList<>();
      for (String one : name.split(",", -1)) {
        if (one.isBlank() || one.trim().equals(KV_SWEEP) || one.trim().equals("all")) {
          throw new IllegalArgumentException("--study '" + name + "': a list joins study names other than all and "
              + KV_SWEEP + ", without empty entries");
        }
        studies(one.trim(), p).stream().filter(s -> !out.contains(s)).forEach(out::add);
      }
      return out;
    }
    return switch (name) {
      case "all" -> List.of(Study.values());
      case "objectives" -> List.of(Study.OBJECTIVES);
      case "retrofit" -> List.of(Study.RETROFIT);
      case "graduality" -> List.of(Study.GRADUALITY);
      case "hybrid" -> List.of(Study.HYBRID_STAGES);
      case "seqkd" -> List.of(Study.SEQKD);
      default -> throw new IllegalArgumentException("unknown --study '" + name
          + "' (expected objectives, retrofit, graduality, hybrid, seqkd, all or " + KV_SWEEP + ")");
    };
  }

  /**
   * The arms of {@code which} this build can run.
   *
   * @throws IllegalArgumentException when a study asked for has none (its retrofit's keys are missing)
   */
  /**
   * The arms of {@code arms} named in {@code names}, in their order; all of them when {@code names}
   * is null.
   *
   * @throws IllegalArgumentException when a name is not among {@code arms}
   */
  static List<Arm> only(List<Arm> arms, List<String> names) {
    if (names == null) {
      return arms;
    }
    List<String> known = arms.stream().map(Arm::name).toList();
    for (String n : names) {
      if (!known.contains(n)) {
        throw new IllegalArgumentException("--arms: no arm '" + n + "' in the chosen studies (they have "
            + String.join(", ", known) + ")");
      }
    }
    return arms.stream().filter(a -> names.contains(a.name())).toList();
  }

  static List<Arm> arms(List<Study> which, RunConfig common, boolean explicit) {
    List<Arm> runnable = ExperimentArms.runnable(common);
    for (Study s : which) {
      if (explicit && runnable.stream().noneMatch(a -> a.study() == s)) {
        throw new IllegalArgumentException("study " + s.name().toLowerCase(java.util.Locale.ROOT)
            + " needs the hybrid retrofit (retrofit.type hybrid, retrofit.attention_layers, align.*, seqkd.*),"
            + " which this build's run config does not have");
      }
    }
    return runnable.stream().filter(a -> which.contains(a.study())
        || (a.name().equals("corpus_fkl") && which.contains(Study.RETROFIT))).toList();
  }

  @Override
  public Integer call() throws Exception {
    if (KV_SWEEP.equals(study)) {
      return kvSweep();
    }
    requireNoSweepOptions();
    Preset p = preset(preset);
    int n = seeds == null ? p.seeds() : seeds;
    long budget = positions == null ? p.positions() : positions;
    if (n < 1 || budget < 1) {
      throw new IllegalArgumentException("--seeds (" + n + ") and --positions (" + budget + ") must be >= 1");
    }
    List<Study> which = studies(study, p);
    Home home = new Home(parent.home);
    Path base = BenchCommand.baseModel(home);
    RunConfig common = run.load();
    for (String o : p.overrides()) {
      common = common.with(o);
    }
    Path root = home.run(directory(preset, study));
    List<Arm> arms = only(arms(which, common, study != null && !study.equals("all")), only);
    // Check every arm's config before the first run.
    for (Arm a : arms) {
      RunPlan.of(ExperimentArms.sized(common, a, budget, 0, root.resolve(a.name()).toString()));
    }
    long t0 = System.nanoTime();
    Path storeDir = store
        ? ExperimentStore.score(home, base, common, arms, budget, n, root.resolve("target-store"), device.device())
        : null;
    double storeMinutes = (System.nanoTime() - t0) / 60e9;
    Map<String, List<DistillReport>> reports = new LinkedHashMap<>();
    int total = arms.size() * n;
    int done = 0;
    for (int seed = 0; seed < n; seed++) {
      for (Arm a : arms) {
        RunConfig cfg = ExperimentArms.sized(common, a, budget, seed,
            root.resolve(a.name()).resolve("seed-" + seed).toString());
        if (storeDir != null && ExperimentStore.reads(cfg)) {
          cfg = cfg.with("teacher.store=" + storeDir);
        }
        System.out.printf(Locale.ROOT, "%n=== %s, seed %d (run %d of %d, %.0f min so far) ===%n", a.name(), seed,
            ++done, total, (System.nanoTime() - t0) / 60e9);
        reports.computeIfAbsent(a.name(), k -> new ArrayList<>())
            .add(Loopback.run(home, RunPlan.of(cfg), base, System.out, true, device.device()));
      }
    }
    double minutes = (System.nanoTime() - t0) / 60e9;
    String table = tables(reports, arms, which, n, budget, common, minutes);
    if (storeDir != null) {
      table += String.format(Locale.ROOT, "%nTarget store: the arms' corpus rows scored once in %.1f min (%s),"
          + " included in the wall time above.%n", storeMinutes, storeDir);
    }
    System.out.println();
    System.out.print(table);
    Files.createDirectories(root);
    Files.writeString(root.resolve("table.md"), table);
    Files.writeString(root.resolve("results.json"), json(reports, n, budget, minutes, store ? storeMinutes : -1));
    ExperimentReportPage.write(root, title(n, budget, common).replaceFirst("^# ", "").strip(), reports);
    System.out.println("written to " + root.resolve("table.md") + ", results.json and " + ExperimentReportPage.FILE);
    return 0;
  }

  /** The kv-sweep's own options name no arm of the distillation studies: refused there, not ignored. */
  void requireNoSweepOptions() {
    if (groundTruthSteps != null || heldoutSequences != null || predictors != null || mqaBase != null) {
      throw new IllegalArgumentException("--ground-truth-steps, --heldout-sequences, --predictors and --mqa-base"
          + " apply to --study " + KV_SWEEP + " only");
    }
  }

  private Integer kvSweep() throws Exception {
    KvSweep.Sizing d = KvSweep.sizing(preset);
    KvSweep.Sizing s = new KvSweep.Sizing(seeds == null ? d.seeds() : seeds,
        groundTruthSteps == null ? d.groundTruthSteps() : groundTruthSteps,
        heldoutSequences == null ? d.evalSequences() : heldoutSequences);
    if (positions != null) {
      throw new IllegalArgumentException("--positions does not apply to kv-sweep: its predictors get a tenth of the"
          + " ground truth's positions (--ground-truth-steps)");
    }
    Home home = new Home(parent.home);
    Path root = home.run(directory(preset, KV_SWEEP));
    String table = KvSweep.run(home, run.load(), s, KvSweep.select(s, predictors), mqaBase, root, device.device(),
        System.out);
    System.out.println();
    System.out.print(table);
    System.out.println("written to " + root.resolve("table.md") + " and results.json");
    return 0;
  }

  static String tables(Map<String, List<DistillReport>> reports, List<Arm> arms, List<Study> which, int seeds,
      long budget, RunConfig c, double minutes) {
    StringBuilder sb = new StringBuilder(title(seeds, budget, c));
    sb.append(String.format(Locale.ROOT, "Wall time of the whole experiment: %.1f min.%n", minutes));
    for (Study s : which) {
      Map<String, List<DistillReport>> in = new LinkedHashMap<>();
      for (Arm a : arms) {
        boolean inStudy = a.study() == s || (s == Study.RETROFIT && a.name().equals("corpus_fkl"));
        if (inStudy && reports.containsKey(a.name())) {
          in.put(a.name(), reports.get(a.name()));
        }
      }
      if (in.isEmpty()) {
        continue;
      }
      sb.append("\n## ").append(HEADINGS.get(s)).append("\n\n");
      sb.append(ExperimentTables.armTable(in)).append('\n');
      sb.append("Differences against the seed spread (twice the standard error of the difference):\n\n");
      sb.append(ExperimentTables.separations(in, PAIRS.get(s).stream()
          .filter(pair -> in.containsKey(pair[0]) && in.containsKey(pair[1])).toList()));
      sb.append('\n').append(ExperimentTables.genreTables(in));
    }
    return sb.toString();
  }

  /** The comparisons the seeds' claim is about: on-policy vs off-policy vs none. */
  static final List<String[]> OBJECTIVE_PAIRS = List.of(new String[] {"rollout_rkl", "corpus_fkl"},
      new String[] {"rollout_rkl", "corpus_rkl"}, new String[] {"mixed_rkl", "corpus_fkl"},
      new String[] {"corpus_fkl", "cross_entropy"}, new String[] {"rollout_rkl", "cross_entropy"},
      new String[] {"rollout_fkl", "rollout_rkl"});

  static final List<String[]> RETROFIT_PAIRS = List.of(new String[] {"corpus_fkl", "kv2_mean_pool_abrupt"},
      new String[] {"corpus_fkl", "kv2_keep_one"}, new String[] {"corpus_fkl", "kv2_random"},
      new String[] {"kv1_mean_pool", "kv1_keep_one"}, new String[] {"kv1_mean_pool", "kv1_random"});

  static final List<String[]> GRADUALITY_PAIRS = List.of(new String[] {"int4_gradual", "int4_abrupt"},
      new String[] {"hybrid_half_gradual", "hybrid_half_abrupt"});

  static final List<String[]> HYBRID_PAIRS = List.of(new String[] {"hybrid_half_stages", "hybrid_half_direct"},
      new String[] {"hybrid_quarter_stages", "hybrid_quarter_direct"},
      new String[] {"hybrid_half_stages", "hybrid_quarter_stages"});

  static final List<String[]> SEQKD_PAIRS = List.<String[]>of(new String[] {"hybrid_half_seqkd_kl", "hybrid_half_kl"});

  private static final Map<Study, String> HEADINGS = Map.of(Study.OBJECTIVES, "Objectives",
      Study.RETROFIT, "GQA retrofit: graduality and KV init", Study.GRADUALITY, "Graduality on vs off",
      Study.HYBRID_STAGES, "Hybrid: attention share, with vs without alignment stages (same total budget)",
      Study.SEQKD, "Hybrid: SeqKD + KL vs KL alone");

  private static final Map<Study, List<String[]>> PAIRS = Map.of(Study.OBJECTIVES, OBJECTIVE_PAIRS,
      Study.RETROFIT, RETROFIT_PAIRS, Study.GRADUALITY, GRADUALITY_PAIRS, Study.HYBRID_STAGES, HYBRID_PAIRS,
      Study.SEQKD, SEQKD_PAIRS);

  private static String title(int seeds, long budget, RunConfig c) {
    return String.format(Locale.ROOT, "# Retrofits of the embedded base model: %,d trained target positions per arm,"
            + " %d seed%s, batch %d x %d tokens, rollouts of %d + up to %d tokens%n%n", budget, seeds,
        seeds == 1 ? "" : "s", c.train().batchSize(), c.data().seqLen(), c.onpolicy().promptTokens(),
        c.onpolicy().maxNewTokens());
  }

  private static String json(Map<String, List<DistillReport>> reports, int seeds, long budget, double minutes,
      double storeMinutes) throws Exception {
    ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = m.createObjectNode();
    root.put("seeds", seeds);
    root.put("positions_per_arm", budget);
    root.put("wall_minutes", minutes);
    if (storeMinutes >= 0) {
      root.put("target_store_minutes", storeMinutes); // part of wall_minutes
    }
    ArrayNode arms = root.putArray("arms");
    reports.forEach((n, runs) -> {
      ObjectNode arm = arms.addObject().put("arm", n);
      ArrayNode rs = arm.putArray("runs");
      runs.forEach(r -> rs.add(r.toJson()));
    });
    return m.writeValueAsString(root);
  }
}
