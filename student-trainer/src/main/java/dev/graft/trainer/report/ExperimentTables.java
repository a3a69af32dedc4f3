package dev.graft.trainer.report;

import dev.graft.trainer.distill.ContinuationEvaluator;
import dev.graft.trainer.distill.Continuations;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.distill.EvalMetrics;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The tables of an experiment in Markdown: per arm, the mean ± sample standard deviation over
 * seeds of the budget actually spent (steps, trained positions, generated tokens, wall time) and
 * of the three evaluations — forward KL, gap recovered and top-1 agreement on held-out corpus
 * text, and the teacher's NLL and the reverse KL on the student's own continuations of held-out
 * document beginnings — overall and per genre; and which differences exceed the seed spread.
 *
 * <p>A difference "exceeds the seed spread" when |mean_a − mean_b| &gt; 2 √(s_a²/n_a +
 * s_b²/n_b): twice the standard error of the difference of the means. With 3 seeds this is a
 * rough screen, not a significance test.
 */
public final class ExperimentTables {

  /** One quantity judged per arm. */
  public record Metric(String name, ToDoubleFunction<DistillReport> value, boolean higherIsBetter, String format,
      boolean percent) {}

  /** The evaluations compared across arms. */
  public static final List<Metric> METRICS = List.of(
      new Metric("forward KL on held-out text", r -> r.after().overall().meanKl(), false, "%.4f", false),
      new Metric("gap recovered", r -> r.after().overall().gapRecovered(r.before().overall()), true, "%.1f", true),
      new Metric("top-1 agreement", r -> r.after().overall().top1Agreement(), true, "%.3f", false),
      new Metric("teacher NLL of own continuations", r -> writing(r, ContinuationEvaluator.Metrics::teacherNll),
          false, "%.3f", false),
      new Metric("reverse KL on own continuations", r -> writing(r, ContinuationEvaluator.Metrics::reverseKl),
          false, "%.4f", false));

  private ExperimentTables() {}

  /** The arm table: budget spent and every metric, one row per arm. */
  public static String armTable(Map<String, List<DistillReport>> arms) {
    StringBuilder sb = new StringBuilder("| arm | seeds | steps | trained positions | generated tokens | wall s |");
    METRICS.forEach(m -> sb.append(' ').append(m.name()).append(" |"));
    sb.append("\n| --- | ---: | ---: | ---: | ---: | ---: |");
    METRICS.forEach(m -> sb.append(" ---: |"));
    sb.append('\n');
    arms.forEach((name, runs) -> {
      sb.append("| ").append(name).append(" | ").append(runs.size()).append(" | ");
      sb.append(spread(runs, r -> r.outcome().steps()).format("%,.0f", false)).append(" | ");
      sb.append(spread(runs, r -> r.outcome().tokensSeen()).format("%,.0f", false)).append(" | ");
      sb.append(spread(runs, r -> r.outcome().generatedTokens()).format("%,.0f", false)).append(" | ");
      sb.append(spread(runs, DistillReport::wallSeconds).format("%.0f", false)).append(" |");
      for (Metric m : METRICS) {
        sb.append(' ').append(spread(runs, m.value()).format(m.format(), m.percent())).append(" |");
      }
      sb.append('\n');
    });
    return sb.toString();
  }

  /**
   * Per genre (rows) and arm (columns): the gap recovered on held-out text, and the teacher's NLL
   * and the reverse KL on the students' own continuations.
   */
  public static String genreTables(Map<String, List<DistillReport>> arms) {
    StringBuilder sb = new StringBuilder();
    sb.append(genreTable("Gap recovered on held-out text, per genre", arms, (r, g) -> {
      EvalMetrics a = r.after().byDomain().get(g);
      EvalMetrics b = r.before().byDomain().get(g);
      return a == null || b == null ? Double.NaN : a.gapRecovered(b);
    }, "%.1f", true));
    sb.append('\n').append(genreTable("Teacher NLL per token of the students' own continuations, per genre",
        arms, (r, g) -> genreWriting(r, g, ContinuationEvaluator.Metrics::teacherNll), "%.3f", false));
    sb.append('\n').append(genreTable("Reverse KL per token on the students' own continuations, per genre",
        arms, (r, g) -> genreWriting(r, g, ContinuationEvaluator.Metrics::reverseKl), "%.4f", false));
    return sb.toString();
  }

  /**
   * For every metric: the best arm, the arms within the seed spread of it, and for each given
   * pair (a, b) whether a is better than b by more than the seed spread.
   */
  public static String separations(Map<String, List<DistillReport>> arms, List<String[]> pairs) {
    if (arms.values().stream().anyMatch(runs -> runs.size() < 2)) {
      return "- One seed per arm: there is no seed spread to judge differences against; run more seeds.\n";
    }
    StringBuilder sb = new StringBuilder();
    for (Metric m : METRICS) {
      Map<String, Spread> s = new LinkedHashMap<>();
      arms.forEach((n, runs) -> s.put(n, spread(runs, m.value())));
      if (s.values().stream().anyMatch(x -> Double.isNaN(x.mean()))) {
        continue;
      }
      String best = s.entrySet().stream().reduce((a, b) -> better(m, b.getValue(), a.getValue()) ? b : a)
          .orElseThrow().getKey();
      List<String> tied = new ArrayList<>();
      s.forEach((n, x) -> {
        if (!n.equals(best) && !exceeds(s.get(best), x)) {
          tied.add(n);
        }
      });
      sb.append(String.format(Locale.ROOT, "- **%s** (%s is better): best %s (%s)", m.name(),
          m.higherIsBetter() ? "higher" : "lower", best, s.get(best).format(m.format(), m.percent())));
      sb.append(tied.isEmpty() ? "; every other arm is worse by more than the seed spread"
          : "; within the seed spread of it: " + String.join(", ", tied));
      List<String> claims = new ArrayList<>();
      for (String[] p : pairs) {
        Spread a = s.get(p[0]);
        Spread b = s.get(p[1]);
        if (a == null || b == null) {
          continue;
        }
        String verdict = !exceeds(a, b) ? "≈" : better(m, a, b) ? ">" : "<";
        claims.add(p[0] + " " + verdict + " " + p[1]);
      }
      if (!claims.isEmpty()) {
        sb.append(". Pairs (> better by more than the spread, ≈ within it): ").append(String.join("; ", claims));
      }
      sb.append(".\n");
    }
    return sb.toString();
  }

  /** Whether two spreads' means differ by more than twice the standard error of their difference. */
  static boolean exceeds(Spread a, Spread b) {
    double se = Math.sqrt(a.std() * a.std() / a.n() + b.std() * b.std() / b.n());
    return Math.abs(a.mean() - b.mean()) > 2 * se;
  }

  private static boolean better(Metric m, Spread a, Spread b) {
    return m.higherIsBetter() ? a.mean() > b.mean() : a.mean() < b.mean();
  }

  private interface GenreValue {
    double of(DistillReport r, String genre);
  }

  private static String genreTable(String title, Map<String, List<DistillReport>> arms, GenreValue f, String fmt,
      boolean percent) {
    Set<String> genres = new LinkedHashSet<>();
    arms.values().forEach(runs -> runs.forEach(r -> genres.addAll(r.after().byDomain().keySet())));
    StringBuilder sb = new StringBuilder(title).append(":\n\n| genre |");
    arms.keySet().forEach(n -> sb.append(' ').append(n).append(" |"));
    sb.append("\n| --- |");
    arms.keySet().forEach(n -> sb.append(" ---: |"));
    sb.append('\n');
    for (String g : genres) {
      sb.append("| ").append(g).append(" |");
      arms.values().forEach(runs -> {
        Spread s = spread(runs, r -> f.of(r, g));
        sb.append(' ').append(Double.isNaN(s.mean()) ? "" : s.format(fmt, percent)).append(" |");
      });
      sb.append('\n');
    }
    return sb.toString();
  }

  private static double writing(DistillReport r, Function<ContinuationEvaluator.Metrics, Double> f) {
    Continuations c = r.continuations();
    return c == null ? Double.NaN : f.apply(c.after().overall());
  }

  private static double genreWriting(DistillReport r, String genre, Function<ContinuationEvaluator.Metrics, Double> f) {
    Continuations c = r.continuations();
    ContinuationEvaluator.Metrics m = c == null ? null : c.after().byDomain().get(genre);
    return m == null ? Double.NaN : f.apply(m);
  }

  private static Spread spread(List<DistillReport> runs, ToDoubleFunction<DistillReport> f) {
    return new Spread(runs.stream().map(f::applyAsDouble).toList());
  }
}
