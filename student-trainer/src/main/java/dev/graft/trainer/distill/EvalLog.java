package dev.graft.trainer.distill;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

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

  private static final ObjectMapper JSON = new ObjectMapper();
  private final BufferedWriter out;
  private DistillEvaluator.Result baseline;
  private long totalSteps = -1;

  public EvalLog(Path runDir) throws IOException {
    Files.createDirectories(runDir);
    this.out = Files.newBufferedWriter(runDir.resolve(FILE), StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  @Override
  public void onBaseline(DistillEvaluator.Result before) {
    baseline = before;
    ObjectNode n = line(new Evaluation(0, 1, before));
    n.put("baseline", true);
    append(n);
  }

  @Override
  public void onStart(long fromStep, long totalSteps) {
    this.totalSteps = totalSteps;
  }

  @Override
  public void onEval(Evaluation e) {
    ObjectNode n = line(e);
    n.put("final", e.step() == totalSteps);
    append(n);
  }

  private ObjectNode line(Evaluation e) {
    ObjectNode n = JSON.createObjectNode();
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

  private void append(ObjectNode n) {
    try {
      out.write(JSON.writeValueAsString(n));
      out.newLine();
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + FILE, e);
    }
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
