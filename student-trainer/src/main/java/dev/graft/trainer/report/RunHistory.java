package dev.graft.trainer.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.trainer.distill.EvalLog;
import dev.graft.trainer.distill.Evaluation;
import dev.graft.trainer.distill.StepLog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a run recorded while it trained, read back from {@code RUN/steps.jsonl} and
 * {@code RUN/evals.jsonl}. A resumed run appends steps and evaluations again, so the last line
 * of each step wins; a missing file reads as no rows.
 *
 * @param steps one row per step, in step order
 * @param evals the evaluations during and at the end of training, in step order
 * @param baseline the untrained α = 1 student, or null when not recorded
 */
public record RunHistory(List<Step> steps, List<Eval> evals, Eval baseline) {

  /**
   * One training step.
   *
   * @param waitSecondsTotal time waited for batches since the run (re)started
   * @param oldestRolloutVersion the oldest policy version among the step's rollouts; -1 without
   * @param lagMin smallest policy lag of the step's rollouts in steps, NaN when not recorded
   */
  public record Step(long step, double loss, double meanAlpha, double waitSecondsTotal, long policyVersion,
      long oldestRolloutVersion, double lagMin, double lagMean, double lagMax) {

    /** Whether this step trained on rollouts (on-policy rows). */
    public boolean onPolicy() {
      return Double.isFinite(lagMean) || oldestRolloutVersion >= 0;
    }
  }

  /** One held-out evaluation; {@code gapRecovered} against the untrained α = 1 student. */
  public record Eval(long step, double meanAlpha, double kl, double studentPerplexity, double top1Agreement,
      double gapRecovered) {

    public boolean blended() {
      return Evaluation.blended(meanAlpha);
    }
  }

  public RunHistory {
    steps = List.copyOf(steps);
    evals = List.copyOf(evals);
  }

  /** Reads the logs of the run in {@code runDir}. */
  public static RunHistory read(Path runDir) {
    Map<Long, Step> steps = new TreeMap<>();
    lines(runDir.resolve(StepLog.FILE)).forEach(n -> steps.put(n.path("step").asLong(), step(n)));
    Map<Long, Eval> evals = new TreeMap<>();
    Eval baseline = null;
    for (JsonNode n : lines(runDir.resolve(EvalLog.FILE))) {
      Eval e = new Eval(n.path("step").asLong(), num(n, "mean_alpha"), num(n, "kl"), num(n, "student_perplexity"),
          num(n, "top1_agreement"), num(n, "gap_recovered"));
      if (n.path("baseline").asBoolean(false)) {
        baseline = e;
      } else {
        evals.put(e.step(), e);
      }
    }
    return new RunHistory(new ArrayList<>(steps.values()), new ArrayList<>(evals.values()), baseline);
  }

  /** Whether any step trained on rollouts. */
  public boolean onPolicy() {
    return steps.stream().anyMatch(Step::onPolicy);
  }

  /**
   * Seconds each step waited for its batch: differences of the running total, which restarts at
   * zero when a run resumes (a total below the previous one is the first of a new count).
   */
  public double[] waitSeconds() {
    double[] w = new double[steps.size()];
    double prev = 0;
    for (int i = 0; i < w.length; i++) {
      double total = steps.get(i).waitSecondsTotal();
      w[i] = total >= prev ? total - prev : total;
      prev = total;
    }
    return w;
  }

  private static Step step(JsonNode n) {
    return new Step(n.path("step").asLong(), num(n, "loss"), num(n, "mean_alpha"), num(n, "wait_seconds_total"),
        n.path("policy_version").asLong(-1), n.path("oldest_rollout_version").asLong(-1), num(n, "lag_min"),
        num(n, "lag_mean"), num(n, "lag_max"));
  }

  /** A number field; NaN when absent, null or not a number. */
  private static double num(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v != null && v.isNumber() ? v.asDouble() : Double.NaN;
  }

  private static List<JsonNode> lines(Path file) {
    if (!Files.isRegularFile(file)) {
      return List.of();
    }
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(file)) {
        try {
          if (!line.isBlank()) {
            out.add(json.readTree(line));
          }
        } catch (JsonProcessingException e) {
          // A line cut short by a kill: the lines around it still count.
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    return out;
  }
}
