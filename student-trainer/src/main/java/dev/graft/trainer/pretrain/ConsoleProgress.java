package dev.graft.trainer.pretrain;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows a pretraining run to a person: a progress bar with loss and tokens/s on a terminal, or
 * one log line every {@code logEvery} steps when output is not a terminal (CI logs).
 */
public final class ConsoleProgress implements Pretrainer.Listener, AutoCloseable {

  private final PrintStream out;
  private final boolean terminal;
  private final long logEvery;
  private ProgressBar bar;

  public ConsoleProgress(PrintStream out, boolean terminal, long logEvery) {
    this.out = out;
    this.terminal = terminal;
    this.logEvery = Math.max(1, logEvery);
  }

  @Override
  public void onStart(long fromStep, long totalSteps) {
    if (fromStep > 0) {
      out.printf("resuming at step %d of %d%n", fromStep, totalSteps);
    }
    if (terminal) {
      bar = new ProgressBarBuilder().setTaskName("pretrain").setInitialMax(totalSteps)
          .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).continuousUpdate()
          .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(out)).build();
      bar.stepTo(fromStep);
    }
  }

  @Override
  public void onStep(long step, double loss, double lr, double gradNorm, double tokensPerSecond) {
    String msg = String.format(Locale.ROOT, "loss %.3f | lr %.2e | %,.0f tok/s", loss, lr, tokensPerSecond);
    if (bar != null) {
      bar.stepTo(step);
      bar.setExtraMessage(msg);
    } else if (step % logEvery == 0 || step == 1) {
      out.printf(Locale.ROOT, "step %d: %s | grad norm %.2f%n", step, msg, gradNorm);
    }
  }

  @Override
  public void onEval(long step, LmEvaluator.Result r) {
    String line = String.format(Locale.ROOT, "step %d validation: loss %.4f, perplexity %.2f over %,d tokens",
        step, r.overall().loss(), r.overall().perplexity(), r.overall().tokens());
    if (bar != null) {
      bar.setExtraMessage(line);
    }
    out.println((bar != null ? "\n" : "") + line);
  }

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
