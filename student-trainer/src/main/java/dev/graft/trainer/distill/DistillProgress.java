package dev.graft.trainer.distill;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows a distillation run to a person: a progress bar with loss, α and tokens/s on a terminal,
 * or one log line every {@code logEvery} steps otherwise; evaluations as lines with the share of
 * the KL gap recovered so far, those of a blended (mid-ramp) student labelled as such.
 */
public final class DistillProgress implements DistillListener, AutoCloseable {

  private final PrintStream out;
  private final boolean terminal;
  private final long logEvery;
  private volatile EvalMetrics baseline;
  private volatile double nextWaitReport; // seconds of the current wait at which to report next
  private ProgressBar bar;

  public DistillProgress(PrintStream out, boolean terminal, long logEvery) {
    this.out = out;
    this.terminal = terminal;
    this.logEvery = Math.max(1, logEvery);
  }

  @Override
  public void onBaseline(DistillEvaluator.Result before) {
    baseline = before.overall();
  }

  @Override
  public void onStart(long fromStep, long totalSteps) {
    if (fromStep > 0) {
      out.printf("resuming at step %d of %d%n", fromStep, totalSteps);
    }
    if (terminal) {
      bar = new ProgressBarBuilder().setTaskName("distill").setInitialMax(totalSteps)
          .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).continuousUpdate()
          .setConsumer(new ConsoleProgressBarConsumer(out)).build();
      bar.stepTo(fromStep);
    }
  }

  @Override
  public void onStep(StepStats s) {
    String msg = String.format(Locale.ROOT, "loss %.4f | alpha %.2f | lr %.2e | %,.0f tok/s", s.loss(),
        s.meanAlpha(), s.lr(), s.tokensPerSecond());
    if (bar != null) {
      bar.stepTo(s.step());
      bar.setExtraMessage(msg);
    } else if (s.step() % logEvery == 0 || s.step() == 1) {
      out.printf(Locale.ROOT, "step %d: %s | grad norm %.2f | teacher wait %.1f s%n", s.step(), msg,
          s.gradNorm(), s.teacherWaitSeconds());
    }
  }

  @Override
  public void onEval(Evaluation e) {
    EvalMetrics m = e.result().overall();
    EvalMetrics b = baseline;
    String line = String.format(Locale.ROOT,
        "step %d held-out%s: KL %.4f | perplexity %.2f (teacher %.2f) | top-1 agreement %.3f%s", e.step(),
        Evaluation.caveat(e.meanAlpha()),
        m.meanKl(), m.studentPerplexity(), m.teacherPerplexity(), m.top1Agreement(),
        b == null ? "" : String.format(Locale.ROOT, " | gap recovered %.1f%%", 100 * m.gapRecovered(b)));
    out.println((bar != null ? "\n" : "") + line);
  }

  /** Reports a wait when it starts, then every {@value #WAIT_REPORT_SECONDS} s. */
  @Override
  public void onWaiting(String peers, double seconds, String why) {
    if (seconds >= nextWaitReport) {
      out.printf(Locale.ROOT, "%swaiting for %s (%.0f s so far): %s%n", bar != null ? "\n" : "", peers, seconds, why);
      nextWaitReport = seconds + WAIT_REPORT_SECONDS;
    }
  }

  @Override
  public void onResumed(String peers, double seconds) {
    nextWaitReport = 0;
    out.printf(Locale.ROOT, "%s%s answered again after %.0f s%n", bar != null ? "\n" : "", peers, seconds);
  }

  private static final double WAIT_REPORT_SECONDS = 10;

  @Override
  public void onCheckpoint(long step, Path dir) {
    if (bar == null) {
      out.println("checkpoint " + dir);
    }
  }

  @Override
  public void close() {
    if (bar != null) {
      bar.close();
      bar = null;
    }
  }
}
