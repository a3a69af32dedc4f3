package dev.graft.trainer.report;

import dev.graft.trainer.distill.ContinuationEvaluator;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.distill.EvalMetrics;
import dev.graft.trainer.report.HtmlTable.Cell;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * {@code graft experiment}'s {@code report.html}: the arms side by side — the table of
 * {@code table.md}, a bar chart of the gap recovered per arm, and the gap recovered per genre —
 * as one self-contained page.
 *
 * <p>Each arm takes a list of reports, one per seed: with several, every number is the mean
 * ± the sample standard deviation, and bars get error bars. Every headline number is that of a
 * report's final α = 1 evaluation.
 */
public final class ExperimentReportPage {

  public static final String FILE = "report.html";
  static final String GAP = "gap recovered";

  private ExperimentReportPage() {}

  /** Writes {@code dir/report.html}; returns the file. */
  public static Path write(Path dir, String title, Map<String, List<DistillReport>> arms) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve(FILE);
    Files.writeString(file, render(title, arms));
    return file;
  }

  /**
   * The page.
   *
   * @param title what the arms share, e.g. "GQA retrofit, 150 steps x 16 sequences of 128 tokens each arm"
   * @param arms arm name → its runs (one per seed), in display order
   * @throws IllegalArgumentException when an arm has no run
   */
  public static String render(String title, Map<String, List<DistillReport>> arms) {
    arms.forEach((name, runs) -> {
      if (runs.isEmpty()) {
        throw new IllegalArgumentException("arm '" + name + "' has no run");
      }
    });
    List<String> names = new ArrayList<>(arms.keySet());
    List<Spread> gaps = names.stream().map(n -> spread(arms.get(n), r -> gap(r.before().overall(),
        r.after().overall()))).toList();
    HtmlPage page = new HtmlPage("Graft experiment", title);
    page.section("arms", "Arms", "<div class=\"scroll\">" + armTable(arms) + "</div><p class=\"note\">"
        + "With several seeds per arm, values are mean ± sample standard deviation (n seeds). \"After\" is each"
        + " run's final evaluation, every α at 1. \"Own text\": the student's continuations of held-out document"
        + " beginnings, judged by the teacher (per generated token).</p>");
    String chart = new BarChart("Gap recovered per arm", "arm", GAP, names).series(GAP, gaps).percent().svg();
    page.section("gap", "Gap recovered", "<div class=\"charts\">" + HtmlPage.figure(chart,
        "1 − KL after / KL before on the held-out set; error bars are ± one standard deviation over seeds.", false)
        + "</div>");
    page.section("genres", "Per genre", "<div class=\"charts\">" + HtmlPage.figure(genreChart(arms), "", true)
        + "</div><div class=\"scroll\">" + genreTable(arms) + "</div>");
    return page.html();
  }

  private static String armTable(Map<String, List<DistillReport>> arms) {
    HtmlTable t = new HtmlTable("arms", List.of("arm", "seeds", "trained positions", "generated tokens", "wall s",
        "KL before", "KL after", GAP, "perplexity (teacher)", "top-1 agreement", "teacher NLL, own text",
        "reverse KL, own text"));
    arms.forEach((name, runs) -> {
      Cell ppl = cell(spread(runs, r -> r.after().overall().studentPerplexity()), "%.2f", false);
      Spread teacher = spread(runs, r -> r.after().overall().teacherPerplexity());
      t.row(List.of(Cell.text(name), Cell.num(runs.size(), Integer.toString(runs.size())),
          cell(spread(runs, r -> r.outcome().tokensSeen()), "%,.0f", false),
          cell(spread(runs, r -> r.outcome().generatedTokens()), "%,.0f", false),
          cell(spread(runs, DistillReport::wallSeconds), "%.0f", false),
          cell(spread(runs, r -> r.before().overall().meanKl()), "%.4f", false),
          cell(spread(runs, r -> r.after().overall().meanKl()), "%.4f", false),
          cell(spread(runs, r -> gap(r.before().overall(), r.after().overall())), "%.1f", true),
          new Cell(ppl.text() + " (" + teacher.format("%.2f", false) + ")", ppl.value(), ppl.cls(), ppl.data()),
          cell(spread(runs, r -> r.after().overall().top1Agreement()), "%.3f", false),
          writing(runs, ContinuationEvaluator.Metrics::teacherNll, "%.3f"),
          writing(runs, ContinuationEvaluator.Metrics::reverseKl, "%.4f")));
    });
    return t.html();
  }

  /** A metric of the students' own continuations; blank when the runs did not evaluate them. */
  private static Cell writing(List<DistillReport> runs, ToDoubleFunction<ContinuationEvaluator.Metrics> f,
      String fmt) {
    if (runs.stream().anyMatch(r -> r.continuations() == null)) {
      return Cell.text("");
    }
    return cell(spread(runs, r -> f.applyAsDouble(r.continuations().after().overall())), fmt, false);
  }

  private static String genreChart(Map<String, List<DistillReport>> arms) {
    List<String> genres = genres(arms);
    BarChart c = new BarChart("Gap recovered per genre", "genre", GAP, genres).percent().width(1100);
    arms.forEach((name, runs) -> c.series(name, genres.stream().map(g -> genreGap(runs, g)).toList()));
    return c.svg();
  }

  private static String genreTable(Map<String, List<DistillReport>> arms) {
    List<String> head = new ArrayList<>(List.of("genre"));
    head.addAll(arms.keySet());
    HtmlTable t = new HtmlTable("genres", head);
    for (String g : genres(arms)) {
      List<Cell> row = new ArrayList<>(List.of(Cell.text(g)));
      arms.values().forEach(runs -> {
        Spread s = genreGap(runs, g);
        row.add(s == null ? Cell.text("") : cell(s, "%.1f", true));
      });
      t.row(row);
    }
    return t.html();
  }

  /** The gap recovered on {@code genre} over the runs that evaluated it; null when none did. */
  private static Spread genreGap(List<DistillReport> runs, String genre) {
    List<Double> v = runs.stream().filter(r -> r.after().byDomain().containsKey(genre))
        .map(r -> gap(r.before().byDomain().get(genre), r.after().byDomain().get(genre))).toList();
    return v.isEmpty() ? null : new Spread(v);
  }

  private static List<String> genres(Map<String, List<DistillReport>> arms) {
    Map<String, Boolean> seen = new LinkedHashMap<>();
    arms.values().forEach(runs -> runs.forEach(r -> r.after().byDomain().keySet().forEach(g -> seen.put(g, true))));
    return new ArrayList<>(seen.keySet());
  }

  private static double gap(EvalMetrics before, EvalMetrics after) {
    return after.gapRecovered(before);
  }

  private static Spread spread(List<DistillReport> runs, ToDoubleFunction<DistillReport> f) {
    return new Spread(runs.stream().map(r -> f.applyAsDouble(r)).toList());
  }

  private static Cell cell(Spread s, String fmt, boolean percent) {
    return Cell.num(s.mean(), s.format(fmt, percent)).withClass(s.n() > 1 ? "spread" : "")
        .withData("std", s.std()).withData("n", s.n());
  }
}
