package dev.graft.trainer.distill;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Appends one JSON line per held-out evaluation to {@code RUN/evals.jsonl}, beside the step log:
 * step, mean α, whether the scored model was a blended (mid-ramp) student, KL, perplexities,
 * top-1 agreement and the gap recovered against the untrained α = 1 student, overall and per
 * domain. The baseline itself is the line with {@code "baseline": true} (step 0); the final
 * evaluation, the run's headline, has {@code "final": true}. A resumed run appends again, so
 * a reader keeps the last line of each step. Each line is flushed, so the file survives a kill.
 */
public final class EvalLog implements DistillListener, AutoCloseable {

  public static final String FILE = "evals.jsonl";

  private final JsonLines out;
  private DistillEvaluator.Result baseline;
  private long totalSteps = -1;

  public EvalLog(Path runDir) throws IOException {
    this.out = new JsonLines(runDir, FILE);
  }

  @Override
  public void onBaseline(DistillEvaluator.Result before) {
    baseline = before;
    ObjectNode n = line(new Evaluation(0, 1, before));
    n.put("baseline", true);
    out.append(n);
  }

  @Override
  public void onStart(long fromStep, long totalSteps) {
    this.totalSteps = totalSteps;
  }

  @Override
  public void onEval(Evaluation e) {
    ObjectNode n = line(e);
    n.put("final", e.step() == totalSteps);
    out.append(n);
  }

  private ObjectNode line(Evaluation e) {
    ObjectNode n = JsonLines.line();
    n.put("step", e.step());
    n.put("mean_alpha", e.meanAlpha());
    n.put("blended", e.blended());
    n.put("label", e.label());
    metrics(n, e.result().overall(), baseline == null ? null : baseline.overall());
    ObjectNode domains = n.putObject("by_domain");
    e.result().byDomain().forEach((d, m) -> metrics(domains.putObject(d), m,
        baseline == null ? null : baseline.byDomain().get(d)));
    return n;
  }

  private static void metrics(ObjectNode n, EvalMetrics m, EvalMetrics start) {
    n.put("tokens", m.tokens());
    n.put("kl", m.meanKl());
    n.put("student_perplexity", m.studentPerplexity());
    n.put("teacher_perplexity", m.teacherPerplexity());
    n.put("top1_agreement", m.top1Agreement());
    if (start != null) {
      n.put("gap_recovered", m.gapRecovered(start));
    }
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
