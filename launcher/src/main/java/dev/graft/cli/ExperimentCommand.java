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
    header = "On-policy vs off-policy vs none, and the GQA retrofit's choices, at equal budgets over seeds.",
    sortOptions = false,
    description = {"Retrofits the embedded base model to GQA once per arm and seed. Every arm trains the "
            + "same number of target positions (--positions): a corpus row trains data.seq_len "
            + "positions, a rollout row at most onpolicy.max_new_tokens, so rollout arms take more "
            + "steps.",
        "",
        "Objectives: cross_entropy; corpus_fkl, corpus_rkl (corpus rows, forward/reverse KL); "
            + "rollout_fkl, rollout_rkl (the student's own rollouts, forward/reverse KL); mixed_rkl "
            + "(half and half, reverse KL). Retrofit (corpus rows, forward KL; baseline corpus_fkl = 2 "
            + "KV heads, mean-pool, gradual): kv2_mean_pool_abrupt (graduality off); kv2/kv1 x "
            + "mean_pool/keep_one/random.",
        "",
        "Evaluations per arm, overall and per genre: forward KL, gap recovered and top-1 "
            + "agreement on held-out text; the teacher's NLL and the reverse KL on the student's own "
            + "continuations of held-out document beginnings. Mean +- sample std over seeds, and which "
            + "differences exceed the seed spread. Writes "
            + "HOME/runs/experiment/{table.md,results.json,report.html} (HOME/runs/experiment-quick/ "
            + "for --preset quick, so a smoke run keeps the full results). --config/--set apply to "
            + "every arm; train.steps and the schedule are set per arm from the budget."})
final class ExperimentCommand implements Callable<Integer> {

  @ParentCommand
  GraftCommand parent;

  @Option(names = "--preset", defaultValue = "full", paramLabel = "NAME",
      description = {"full: 3 seeds, 65,536 positions per arm, every arm (about 40 min on 2 cores);",
          "quick: 2 seeds, 8,192 positions, every arm, smaller evaluations (a smoke run of every "
              + "part of the output, 5 to 7 min).",
          "Default: ${DEFAULT-VALUE}."})
  String preset;

  @Option(names = "--seeds", paramLabel = "N", description = "Seeds per arm (overrides the preset).")
  Integer seeds;

  @Option(names = "--positions", paramLabel = "N",
      description = "Trained target positions per arm (overrides the preset).")
  Long positions;

  @Option(names = "--study", paramLabel = "NAME",
      description = "objectives | retrofit | all (overrides the preset's arms).")
  String study;

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
    return preset.equals("full") ? "experiment" : "experiment-" + preset;
  }

  static List<Study> studies(String name, Preset p) {
    if (name == null) {
      return p.studies();
    }
    return switch (name) {
      case "all" -> List.of(Study.OBJECTIVES, Study.RETROFIT);
      case "objectives" -> List.of(Study.OBJECTIVES);
      case "retrofit" -> List.of(Study.RETROFIT);
      default -> throw new IllegalArgumentException("unknown --study '" + name
          + "' (expected objectives, retrofit or all)");
    };
  }

  @Override
  public Integer call() throws Exception {
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
    Path root = home.run(directory(preset));
    List<Arm> arms = ExperimentArms.all().stream().filter(a -> which.contains(a.study())
        || (a.name().equals("corpus_fkl") && which.contains(Study.RETROFIT))).toList();
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
      sb.append(s == Study.OBJECTIVES ? "\n## Objectives\n\n" : "\n## GQA retrofit: graduality and KV init\n\n");
      sb.append(ExperimentTables.armTable(in)).append('\n');
      sb.append("Differences against the seed spread (twice the standard error of the difference):\n\n");
      sb.append(ExperimentTables.separations(in, s == Study.OBJECTIVES ? OBJECTIVE_PAIRS : RETROFIT_PAIRS));
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

  private static String title(int seeds, long budget, RunConfig c) {
    return String.format(Locale.ROOT, "# GQA retrofit of the embedded base model: %,d trained target positions per arm,"
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
