package dev.graft.trainer.distill;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Appends one JSON line per step to {@code RUN/steps.jsonl}: loss, learning rate, α, throughput,
 * time waited for targets, and — for on-policy runs — the newest published policy version, the
 * oldest version any rollout of the step came from and the step's policy lag (min, mean, max of
 * step − version over its rollouts), so every loss is attributable to the policy that produced
 * its data. Each line is flushed, so the file survives a kill.
 */
public final class StepLog implements DistillListener, AutoCloseable {

  public static final String FILE = "steps.jsonl";

  private final JsonLines out;

  public StepLog(Path runDir) throws IOException {
    this.out = new JsonLines(runDir, FILE);
  }

  @Override
  public void onStep(StepStats s) {
    ObjectNode n = JsonLines.line();
    n.put("step", s.step());
    n.put("loss", s.loss());
    n.put("lr", s.lr());
    n.put("grad_norm", s.gradNorm());
    n.put("mean_alpha", s.meanAlpha());
    n.put("tokens_per_second", s.tokensPerSecond());
    n.put("wait_seconds_total", s.teacherWaitSeconds());
    if (s.policyVersion() >= 0) {
      n.put("policy_version", s.policyVersion());
      if (s.lag() != null) { // absent when the step's on-policy rows fell back to corpus text
        n.put("oldest_rollout_version", s.oldestRolloutVersion());
        n.put("lag_min", s.lag().min());
        n.put("lag_mean", s.lag().mean());
        n.put("lag_max", s.lag().max());
      }
      n.put("stale_rollouts_dropped_total", s.staleRolloutsDropped());
      n.put("foreign_rollouts_dropped_total", s.foreignRolloutsDropped());
      n.put("fallback_rows_total", s.fallbackRows());
    }
    out.append(n);
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
