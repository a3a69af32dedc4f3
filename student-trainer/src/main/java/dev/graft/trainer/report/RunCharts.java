package dev.graft.trainer.report;

import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.distill.EvalMetrics;
import dev.graft.trainer.distill.Evaluation;
import dev.graft.trainer.distill.StageReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The charts of one run's report, from what it logged and its before/after report. */
final class RunCharts {

  static final String LOSS = "training loss";
  static final String KL = "held-out KL";
  static final String BEFORE = "before: untrained, α = 1";
  static final String RAMP = "α ramp (a blended student trains)";
  static final String OPEN = "open: blended student (mean α < 1)";
  static final String WAIT = "waiting for the batch";
  static final String KL_BEFORE = "KL before";
  static final String KL_AFTER = "KL after";
  static final String GAP = "gap recovered";
  static final String STAGE_SUM = "sum over layers (the objective)";

  private final RunHistory history;
  private final DistillReport report;

  RunCharts(RunHistory history, DistillReport report) {
    this.history = history;
    this.report = report;
  }

  /** "blended (mean α 0.62)" or "α = 1": {@link Evaluation#label} as a page writes it. */
  static String label(double meanAlpha) {
    return Evaluation.label(meanAlpha).replace("alpha", "α");
  }

  String loss() {
    List<LineChart.Point> pts = history.steps().stream().map(s -> LineChart.Point.of(s.step(), s.loss())).toList();
    return ramp(new LineChart("Training loss", "step", "loss per token (nats)").integerX().line(LOSS, pts)).svg();
  }

  String heldOutKl() {
    long last = report.outcome().steps();
    List<LineChart.Point> pts = new ArrayList<>();
    for (RunHistory.Eval e : history.evals()) {
      String note = label(e.meanAlpha()) + (e.step() == last && !e.blended() ? ", final: the headline" : "");
      pts.add(new LineChart.Point(e.step(), e.kl(), note, e.blended(),
          Map.of("alpha", Markup.value(e.meanAlpha()), "blended", Boolean.toString(e.blended()))));
    }
    LineChart c = new LineChart("Held-out KL(teacher ‖ student)", "step", "KL per token (nats)").integerX()
        .markers(KL, pts).rule(BEFORE, report.before().overall().meanKl()).openMarkers(OPEN);
    return ramp(c).svg();
  }

  String waiting() {
    double[] w = history.waitSeconds();
    List<LineChart.Point> pts = new ArrayList<>();
    for (int i = 0; i < w.length; i++) {
      pts.add(LineChart.Point.of(history.steps().get(i).step(), w[i]));
    }
    return new LineChart("Trainer waiting for targets and rollouts", "step", "seconds per step").integerX()
        .line(WAIT, pts).svg();
  }

  /** The rollout policy lag per step, or null when the run had no on-policy rows. */
  String lag() {
    if (!history.onPolicy()) {
      return null;
    }
    LineChart c = new LineChart("Rollout policy lag", "step", "lag (steps behind the trainer)").integerX();
    List<RunHistory.Step> on = history.steps().stream().filter(RunHistory.Step::onPolicy).toList();
    if (on.stream().anyMatch(s -> Double.isFinite(s.lagMean()))) {
      c.line("max lag", on.stream().map(s -> LineChart.Point.of(s.step(), s.lagMax())).toList());
      c.line("mean lag", on.stream().map(s -> LineChart.Point.of(s.step(), s.lagMean())).toList());
      c.line("min lag", on.stream().map(s -> LineChart.Point.of(s.step(), s.lagMin())).toList());
    } else {
      c.line("step − oldest rollout version", on.stream()
          .map(s -> LineChart.Point.of(s.step(), s.step() - s.oldestRolloutVersion())).toList());
    }
    return c.svg();
  }

  /** KL before and after per genre, with each genre's gap recovered above its bars. */
  String genres() {
    Map<String, EvalMetrics> after = report.after().byDomain();
    List<String> names = new ArrayList<>(after.keySet());
    List<Spread> before = new ArrayList<>();
    List<Spread> trained = new ArrayList<>();
    List<Double> gaps = new ArrayList<>();
    for (String g : names) {
      EvalMetrics b = report.before().byDomain().get(g);
      before.add(Spread.of(b.meanKl()));
      trained.add(Spread.of(after.get(g).meanKl()));
      gaps.add(after.get(g).gapRecovered(b));
    }
    return new BarChart("KL to the teacher per genre, before and after (gap recovered above)", "genre",
        "KL per token (nats)", names).series(KL_BEFORE, before).series(KL_AFTER, trained)
        .annotate(GAP, gaps, true).width(1100).svg();
  }

  /** An alignment stage's loss per step: the objective (sum over layers) and each layer's part. */
  static String stage(StageReport s) {
    LineChart c = new LineChart("Stage " + s.stage().number() + " (" + s.stage().key() + "): loss per step", "step",
        "mean (y − t)² / mean t²").integerX();
    c.line(STAGE_SUM, s.curve().stream().map(p -> LineChart.Point.of(p.step(), p.loss())).toList());
    for (int k = 0; k < s.layers().size(); k++) {
      int i = k;
      c.line("layer " + s.layers().get(k), s.curve().stream()
          .map(p -> LineChart.Point.of(p.step(), p.layers().get(i))).toList());
    }
    return c.svg();
  }

  /** Shades the steps where some unit was below α = 1. */
  private LineChart ramp(LineChart c) {
    List<RunHistory.Step> blended = history.steps().stream().filter(s -> Evaluation.blended(s.meanAlpha())).toList();
    if (!blended.isEmpty()) {
      c.band(RAMP, blended.get(0).step(), blended.get(blended.size() - 1).step());
    }
    return c;
  }
}
