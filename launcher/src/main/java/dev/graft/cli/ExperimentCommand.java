package dev.graft.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.trainer.Home;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.distill.EvalMetrics;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.report.ExperimentReportPage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

/**
 * {@code graft experiment}: the same GQA retrofit under the same steps and batch with four
 * objectives — cross-entropy only, off-policy forward KL, on-policy reverse KL on student
 * samples, and a 50/50 mix — and one table of the results.
 */
@Command(name = "experiment", mixinStandardHelpOptions = true,
    header = "CE vs off-policy vs on-policy vs mixed, one table.", sortOptions = false,
    description = {"Retrofit the embedded base model to GQA four times with the same steps, batch and",
        "data order: cross-entropy only, off-policy forward KL, on-policy reverse KL (student",
        "samples scored by the teacher), and mixed (half the rows on-policy). Prints and writes the",
        "table (KL to the teacher, perplexity, top-1 agreement, gap recovered, per genre) and",
        "report.html (the same table and bar charts, one self-contained page).",
        "--config/--set apply to every arm (e.g. --steps 150)."})
final class ExperimentCommand implements Callable<Integer> {

  @ParentCommand
  GraftCommand parent;

  @Mixin
  RunOptions run = new RunOptions();

  /** Arm name → overrides on top of the user's config. */
  static final Map<String, List<String>> ARMS = arms();

  private static Map<String, List<String>> arms() {
    Map<String, List<String>> m = new LinkedHashMap<>();
    m.put("cross_entropy", List.of("loss.divergence=ce", "onpolicy.fraction=0"));
    m.put("off_policy_forward_kl", List.of("loss.divergence=forward_kl", "onpolicy.fraction=0"));
    m.put("on_policy_reverse_kl", List.of("loss.divergence=reverse_kl", "onpolicy.fraction=1"));
    m.put("mixed_reverse_kl", List.of("loss.divergence=reverse_kl", "onpolicy.fraction=0.5"));
    return m;
  }

  @Override
  public Integer call() throws Exception {
    Home home = new Home(parent.home);
    Path base = BenchCommand.baseModel(home);
    RunConfig common = run.load();
    Path root = home.run("experiment");
    Map<String, DistillReport> reports = new LinkedHashMap<>();
    for (var arm : ARMS.entrySet()) {
      RunConfig cfg = common.with("output=" + root.resolve(arm.getKey()));
      for (String o : arm.getValue()) {
        cfg = cfg.with(o);
      }
      System.out.println("\n=== " + arm.getKey() + " ===");
      reports.put(arm.getKey(), Loopback.run(home, RunPlan.of(cfg), base, System.out, false));
    }
    String table = table(reports, common);
    System.out.println();
    System.out.print(table);
    Files.createDirectories(root);
    Files.writeString(root.resolve("table.md"), table);
    Files.writeString(root.resolve("results.json"), json(reports));
    Map<String, List<DistillReport>> arms = new LinkedHashMap<>();
    reports.forEach((name, r) -> arms.put(name, List.of(r)));
    ExperimentReportPage.write(root, title(common).strip(), arms);
    System.out.println("written to " + root.resolve("table.md") + ", results.json and "
        + ExperimentReportPage.FILE);
    return 0;
  }

  static String table(Map<String, DistillReport> reports, RunConfig c) {
    StringBuilder sb = new StringBuilder(title(c)).append(System.lineSeparator());
    sb.append("| arm | trained positions | KL before | KL after | gap recovered | perplexity (teacher) | top-1 agreement |\n");
    sb.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    reports.forEach((name, r) -> {
      EvalMetrics b = r.before().overall();
      EvalMetrics a = r.after().overall();
      sb.append(String.format(Locale.ROOT, "| %s | %,d | %.4f | %.4f | %.1f%% | %.2f (%.2f) | %.3f |%n", name,
          r.outcome().tokensSeen(), b.meanKl(), a.meanKl(), 100 * a.gapRecovered(b), a.studentPerplexity(),
          a.teacherPerplexity(), a.top1Agreement()));
    });
    sb.append("\nGap recovered per genre:\n\n| genre |");
    reports.keySet().forEach(n -> sb.append(' ').append(n).append(" |"));
    sb.append("\n| --- |");
    reports.keySet().forEach(n -> sb.append(" ---: |"));
    sb.append('\n');
    DistillReport first = reports.values().iterator().next();
    for (String genre : first.after().byDomain().keySet()) {
      sb.append("| ").append(genre).append(" |");
      reports.values().forEach(r -> sb.append(String.format(Locale.ROOT, " %.1f%% |",
          100 * r.after().byDomain().get(genre).gapRecovered(r.before().byDomain().get(genre)))));
      sb.append('\n');
    }
    return sb.toString();
  }

  private static String title(RunConfig c) {
    return String.format(Locale.ROOT, "GQA retrofit, %d steps x %d sequences of %d tokens each arm%n",
        c.train().steps(), c.train().batchSize(), c.data().seqLen());
  }

  private static String json(Map<String, DistillReport> reports) throws Exception {
    ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = m.createObjectNode();
    ArrayNode arms = root.putArray("arms");
    reports.forEach((n, r) -> arms.addObject().put("arm", n).set("report", r.toJson()));
    return m.writeValueAsString(root);
  }
}
