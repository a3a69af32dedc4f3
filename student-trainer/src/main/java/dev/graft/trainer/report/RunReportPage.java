package dev.graft.trainer.report;

import dev.graft.trainer.distill.AlignStage;
import dev.graft.trainer.distill.Continuations;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.distill.EvalMetrics;
import dev.graft.trainer.distill.StageReport;
import dev.graft.trainer.report.HtmlTable.Cell;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A run's {@code report.html}: one self-contained page (inline CSS and SVG, no script, nothing
 * fetched) with the headline before/after table, the training curves (loss, held-out KL with the
 * evaluations marked, waiting time, and the rollout policy lag of an on-policy run), KL and gap
 * recovered per genre, every evaluation, and the resolved run config.
 *
 * <p>Evaluations during the α ramp scored a blended student; the page marks them as such (open
 * markers, "blended (mean α 0.62)"). The headline is the report's "after": the final evaluation,
 * with every α at 1.
 */
public final class RunReportPage {

  public static final String FILE = "report.html";

  private RunReportPage() {}

  /**
   * Writes {@code studentDir/report.html} for the run in {@code runDir}, reading its step and
   * evaluation logs; returns the file.
   */
  public static Path write(Path runDir, Path studentDir, DistillReport report, String configYaml) throws IOException {
    Files.createDirectories(studentDir);
    Path file = studentDir.resolve(FILE);
    Files.writeString(file, render(runDir.getFileName().toString(), report, RunHistory.read(runDir), configYaml));
    return file;
  }

  /** The page of run {@code name}. */
  public static String render(String name, DistillReport report, RunHistory history, String configYaml) {
    RunCharts charts = new RunCharts(history, report);
    HtmlPage page = new HtmlPage("Graft run report: " + name, summary(report));
    page.note("Held out: " + report.evaluationSet().describe() + ".");
    if (report.outcome().lastPolicyVersion() >= 0) {
      long[] lag = report.outcome().lagRange();
      page.note(String.format(Locale.ROOT, "On-policy: %,d tokens generated, newest policy version %d, policy lag"
          + " %d–%d steps (mean %.1f); %d stale and %d foreign rollouts dropped; %d rows trained on corpus text"
          + " while samplers were unavailable.", report.outcome().generatedTokens(),
          report.outcome().lastPolicyVersion(), lag[0], lag[1], report.outcome().meanLag(),
          report.outcome().staleRolloutsDropped(), report.outcome().foreignRolloutsDropped(),
          report.outcome().fallbackRows()));
    }
    page.section("headline", "Before and after", headline(report) + "<p class=\"note\">"
        + Markup.esc(String.format(Locale.ROOT, "\"After\" is the final evaluation, at step %d with every α at 1:"
            + " the exported student. Gap recovered = 1 − KL after / KL before, where \"before\" is the untrained"
            + " student at α = 1. Evaluations during the α ramp score a blended student and never become the"
            + " headline.", report.outcome().finalEval().step()))
        + (report.continuations() == null ? "" : Markup.esc(String.format(Locale.ROOT, " \"Own continuations\":"
            + " each model continues the same %d held-out document beginnings (up to %d tokens, temperature 1,"
            + " until EOS) and the teacher judges every generated token.", report.continuations().prompts(),
            report.continuations().newTokens()))) + "</p>");
    List<String> figures = new ArrayList<>(List.of(
        HtmlPage.figure(charts.loss(), "Per-token training loss of each step; the shaded steps are the α ramp.", false),
        HtmlPage.figure(charts.heldOutKl(), "Every held-out evaluation; open markers scored a blended student"
            + " (mean α < 1), a model that does not ship. The dashed line is the untrained α = 1 student.", false),
        HtmlPage.figure(charts.waiting(), "Seconds each step waited for its batch's teacher targets and rollouts.",
            false)));
    String lag = charts.lag();
    if (lag != null) {
      figures.add(HtmlPage.figure(lag, "How many steps behind the trainer the policy of a step's rollouts was.",
          false));
    }
    if (!report.stages().isEmpty()) {
      page.section("stages", "Alignment stages", stages(report));
    }
    page.section("training", "Training", "<div class=\"charts\">" + String.join("", figures) + "</div>");
    page.section("genres", "Per genre", "<div class=\"charts\">" + HtmlPage.figure(charts.genres(),
        "KL to the teacher of the untrained and the trained student (both at α = 1) per genre; ppl ="
            + " perplexity.", true)
        + "</div>" + "<div class=\"scroll\">" + genreTable(report) + "</div>");
    page.section("evaluations", "Evaluations", "<div class=\"scroll\">" + evalTable(report, history) + "</div>");
    page.section("config", "Run config", "<pre class=\"config\">" + Markup.esc(configYaml) + "</pre>");
    return page.html();
  }

  private static String summary(DistillReport r) {
    return String.format(Locale.ROOT, "%s · loss %s · %,d steps · %,d trained positions · %.0f s"
        + " (waiting for targets %.0f%%)", r.retrofit(), r.divergence(), r.outcome().steps(),
        r.outcome().tokensSeen(), r.wallSeconds(),
        100 * r.outcome().teacherWaitSeconds() / Math.max(1e-9, r.outcome().trainSeconds()));
  }

  private static String headline(DistillReport r) {
    EvalMetrics b = r.before().overall();
    EvalMetrics a = r.after().overall();
    HtmlTable t = new HtmlTable("headline", List.of("", "teacher", "student before (untrained, α = 1)",
        "student after (final, α = 1)"));
    t.row(List.of(Cell.text("KL(teacher ‖ student), nats/token"), num(0, "%.4f"), num(b.meanKl(), "%.4f"),
        num(a.meanKl(), "%.4f")));
    t.row(List.of(Cell.text("perplexity"), num(a.teacherPerplexity(), "%.2f"), num(b.studentPerplexity(), "%.2f"),
        num(a.studentPerplexity(), "%.2f")));
    t.row(List.of(Cell.text("top-1 agreement with the teacher"), num(1, "%.3f"), num(b.top1Agreement(), "%.3f"),
        num(a.top1Agreement(), "%.3f")));
    t.row(List.of(Cell.text("gap recovered"), Cell.text(""), Cell.text(""),
        pct(a.gapRecovered(b)).withClass("headline headline-gap")));
    Continuations c = r.continuations();
    if (c != null) { // the teacher column: the teacher's own continuations
      t.row(List.of(Cell.text("teacher NLL/token of its own continuations"),
          num(c.teacher().overall().teacherNll(), "%.3f"), num(c.before().overall().teacherNll(), "%.3f"),
          num(c.after().overall().teacherNll(), "%.3f").withClass("own-nll")));
      t.row(List.of(Cell.text("reverse KL/token on its own continuations"),
          num(c.teacher().overall().reverseKl(), "%.4f"), num(c.before().overall().reverseKl(), "%.4f"),
          num(c.after().overall().reverseKl(), "%.4f").withClass("own-rkl")));
    }
    t.row(List.of(Cell.text("parameters"), count(r.teacher().parameterCount()), count(r.studentParameters()),
        count(r.studentParameters())));
    t.row(List.of(Cell.text("KV-cache bytes per token (fp32)"), count(r.teacher().kvCacheBytesPerToken(4)),
        count(r.studentKvCacheBytesPerToken()), count(r.studentKvCacheBytesPerToken())));
    for (long tokens : DistillReport.SEQUENCE_TOKENS) {
      long student = r.studentKvCacheBytesPerSequence().get(tokens);
      t.row(List.of(Cell.text(String.format(Locale.ROOT, "KV-cache bytes per sequence of %,d tokens (fp32)", tokens)),
          count(r.teacher().kvCacheBytesPerToken(4) * tokens), count(student), count(student)));
    }
    return t.html();
  }

  /** Each alignment stage's loss chart, and a table of their budgets and results. */
  private static String stages(DistillReport r) {
    StringBuilder figures = new StringBuilder();
    HtmlTable t = new HtmlTable("stages", List.of("stage", "trains, at α = 1", "budget (positions)", "steps",
        "positions trained", "layers", "first loss", "last loss", "seconds"));
    for (StageReport s : r.stages()) {
      String what = s.stage() == AlignStage.MIXER
          ? "each mixer: teacher's mixer input → teacher attention's output"
          : "each block: teacher's layer input → teacher's layer output";
      figures.append(HtmlPage.figure(RunCharts.stage(s), "Stage " + s.stage().number() + ": " + what
          + "; loss = mean squared error over the target's mean square, per layer and summed.", false));
      t.row(List.of(Cell.text(s.stage().number() + " (" + s.stage().key() + ")"), Cell.text(what), count(s.budget()),
          count(s.steps()), count(s.positions()), Cell.text(s.layers().toString()), num(s.firstLoss(), "%.4f"),
          num(s.lastLoss(), "%.4f"), num(s.seconds(), "%.1f")));
    }
    return "<div class=\"charts\">" + figures + "</div><div class=\"scroll\">" + t.html() + "</div>"
        + "<p class=\"note\">" + Markup.esc("The stages train every converted layer alone from the teacher's hidden"
        + " states before end-to-end distillation, which then starts with every α at 1.") + "</p>";
  }

  private static String genreTable(DistillReport r) {
    HtmlTable t = new HtmlTable("genres", List.of("genre", "tokens", "KL before", "KL after", "gap recovered",
        "ppl teacher", "ppl before", "ppl after", "top-1 before", "top-1 after"));
    for (Map.Entry<String, EvalMetrics> e : r.after().byDomain().entrySet()) {
      EvalMetrics b = r.before().byDomain().get(e.getKey());
      EvalMetrics a = e.getValue();
      t.row(List.of(Cell.text(e.getKey()), count(a.tokens()), num(b.meanKl(), "%.4f"), num(a.meanKl(), "%.4f"),
          pct(a.gapRecovered(b)), num(a.teacherPerplexity(), "%.2f"), num(b.studentPerplexity(), "%.2f"),
          num(a.studentPerplexity(), "%.2f"), num(b.top1Agreement(), "%.3f"), num(a.top1Agreement(), "%.3f")));
    }
    return t.html();
  }

  private static String evalTable(DistillReport r, RunHistory h) {
    HtmlTable t = new HtmlTable("evals", List.of("step", "mean α", "scored model", "KL", "student perplexity",
        "top-1 agreement", "gap recovered"));
    EvalMetrics b = r.before().overall();
    t.row(List.of(count(0), alpha(1), Cell.text("before: untrained student, α = 1"), num(b.meanKl(), "%.4f"),
        num(b.studentPerplexity(), "%.2f"), num(b.top1Agreement(), "%.3f"), pct(0)));
    long last = r.outcome().finalEval().step();
    for (RunHistory.Eval e : h.evals()) {
      String model = e.blended() ? RunCharts.label(e.meanAlpha()) + ": not the student that ships"
          : e.step() == last ? "α = 1, final: the headline" : "α = 1";
      t.row(e.blended() ? "blended" : "", List.of(count(e.step()), alpha(e.meanAlpha()), Cell.text(model),
          num(e.kl(), "%.4f"), num(e.studentPerplexity(), "%.2f"), num(e.top1Agreement(), "%.3f"),
          pct(e.gapRecovered())));
    }
    return t.html();
  }

  private static Cell num(double v, String fmt) {
    return Cell.num(v, Double.isFinite(v) ? String.format(Locale.ROOT, fmt, v) : "n/a");
  }

  /** Mean α rounded down, so a blended student never reads as 1.00. */
  private static Cell alpha(double v) {
    return Cell.num(v, String.format(Locale.ROOT, "%.2f", Math.floor(v * 100) / 100));
  }

  private static Cell pct(double v) {
    return Cell.num(v, Markup.human(v, true));
  }

  private static Cell count(long v) {
    return Cell.num(v, String.format(Locale.ROOT, "%,d", v));
  }
}
