package dev.graft.trainer.distill;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.model.LlamaConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The before/after comparison of a retrofit: the untrained student at α = 1 ("before") and the
 * trained student ("after"), each against the teacher on the same held-out sequences, overall
 * and per domain, with parameter counts and KV-cache sizes of both architectures.
 *
 * <p>"After" — and with it the headline gap recovered — is always the run's final evaluation,
 * of the student with every α at 1: the model that is exported. A report whose final evaluation
 * scored a blended student (mid-ramp) is refused.
 *
 * @param continuations the teacher's judgement of what the students write; null when
 *     {@code eval.continuations} is 0
 * @param studentKvCacheBytesPerSequence the finished student's key/value cache bytes (fp32) for
 *     one sequence of each of {@link #SEQUENCE_TOKENS} tokens ({@link
 *     dev.graft.retrofit.Retrofit#kvCacheBytesPerSequence}: less than per token × tokens for a
 *     retrofit that bounds its cache)
 * @param studentWeightBytes bytes of the exported student's weights at their stored width (less
 *     than fp32 for a quantization retrofit)
 * @param studentParameters the finished student's parameter count ({@link
 *     dev.graft.retrofit.Retrofit#parameterCount}: a hybrid's new decay projections included)
 * @param studentKvCacheBytesPerToken what the finished student's cache grows by per token (fp32;
 *     {@link dev.graft.retrofit.Retrofit#kvCacheBytesPerToken}: a hybrid's recurrent layers add nothing)
 * @param stages the alignment stages that ran before end-to-end distillation, in order; empty
 *     when none did
 */
public record DistillReport(String retrofit, String divergence, LlamaConfig teacher,
    LlamaConfig student, DistillEvaluator.Result before, DistillOutcome outcome, double exactnessMaxDiff,
    double wallSeconds, EvaluationSet evaluationSet, Continuations continuations,
    Map<Long, Long> studentKvCacheBytesPerSequence, long studentWeightBytes, long studentParameters,
    long studentKvCacheBytesPerToken, List<StageReport> stages) {

  /**
   * A report of a run without alignment stages whose student has its config's parameter count and
   * cache growth per token.
   */
  public DistillReport(String retrofit, String divergence, LlamaConfig teacher, LlamaConfig student,
      DistillEvaluator.Result before, DistillOutcome outcome, double exactnessMaxDiff, double wallSeconds,
      EvaluationSet evaluationSet, Continuations continuations, Map<Long, Long> studentKvCacheBytesPerSequence,
      long studentWeightBytes) {
    this(retrofit, divergence, teacher, student, before, outcome, exactnessMaxDiff, wallSeconds, evaluationSet,
        continuations, studentKvCacheBytesPerSequence, studentWeightBytes, student.parameterCount(),
        student.kvCacheBytesPerToken(4), List.of());
  }

  /** Sequence lengths at which the report gives key/value cache bytes per sequence. */
  public static final List<Long> SEQUENCE_TOKENS = List.of(2048L, 32768L);

  /**
   * A report whose student caches every position of every layer (its config's bytes per token)
   * and stores its weights in fp32, as the teacher does.
   */
  public DistillReport(String retrofit, String divergence, LlamaConfig teacher, LlamaConfig student,
      DistillEvaluator.Result before, DistillOutcome outcome, double exactnessMaxDiff, double wallSeconds,
      EvaluationSet evaluationSet, Continuations continuations) {
    this(retrofit, divergence, teacher, student, before, outcome, exactnessMaxDiff, wallSeconds, evaluationSet,
        continuations, fullCache(student), student.parameterCount() * Float.BYTES);
  }

  /** Bytes (fp32) per sequence of each of {@link #SEQUENCE_TOKENS} when every position is cached. */
  public static Map<Long, Long> fullCache(LlamaConfig config) {
    Map<Long, Long> m = new LinkedHashMap<>();
    SEQUENCE_TOKENS.forEach(t -> m.put(t, config.kvCacheBytesPerToken(4) * t));
    return m;
  }

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** @throws IllegalArgumentException when the final evaluation is of a blended student */
  public DistillReport {
    studentKvCacheBytesPerSequence = Map.copyOf(studentKvCacheBytesPerSequence);
    stages = List.copyOf(stages);
    Evaluation last = outcome.finalEval();
    if (last.blended()) {
      throw new IllegalArgumentException("the headline must describe the exported student at alpha = 1, but"
          + " the final evaluation (step " + last.step() + ") scored a " + last.label() + " student");
    }
  }

  /** The trained student at α = 1: the final evaluation. */
  public DistillEvaluator.Result after() {
    return outcome.finalEval().result();
  }

  /** The report as JSON (what {@code report.json} holds). */
  public ObjectNode toJson() {
    ObjectNode r = JSON.createObjectNode();
    r.put("retrofit", retrofit);
    r.put("divergence", divergence);
    ObjectNode arch = r.putObject("architecture");
    arch.put("teacher_parameters", teacher.parameterCount());
    arch.put("student_parameters", studentParameters);
    arch.put("teacher_weight_bytes", teacher.parameterCount() * Float.BYTES);
    arch.put("student_weight_bytes", studentWeightBytes);
    arch.put("teacher_kv_cache_bytes_per_token", teacher.kvCacheBytesPerToken(4));
    arch.put("student_kv_cache_bytes_per_token", studentKvCacheBytesPerToken);
    ObjectNode perSequence = arch.putObject("kv_cache_bytes_per_sequence");
    for (long t : SEQUENCE_TOKENS) {
      ObjectNode at = perSequence.putObject(String.valueOf(t));
      at.put("teacher", teacher.kvCacheBytesPerToken(4) * t);
      at.put("student", studentKvCacheBytesPerSequence.get(t));
    }
    r.put("exactness_max_abs_logprob_diff_at_alpha0", exactnessMaxDiff);
    ObjectNode eval = r.putObject("evaluation_set");
    eval.put("documents", evaluationSet.documents());
    eval.put("recorded_by_teacher", evaluationSet.recordedByTeacher());
    eval.put("contamination_ruled_out", evaluationSet.recordedByTeacher());
    eval.put("sha256", evaluationSet.sha256());
    eval.put("description", evaluationSet.describe());
    ObjectNode train = r.putObject("training");
    train.put("steps", outcome.steps());
    train.put("tokens", outcome.tokensSeen());
    train.put("train_seconds", outcome.trainSeconds());
    train.put("teacher_wait_seconds", outcome.teacherWaitSeconds());
    train.put("final_train_loss", outcome.lastLoss());
    train.put("waiting_fraction", outcome.teacherWaitSeconds() / Math.max(1e-9, outcome.trainSeconds()));
    train.put("generated_tokens", outcome.generatedTokens());
    train.put("stale_rollouts_dropped", outcome.staleRolloutsDropped());
    train.put("foreign_rollouts_dropped", outcome.foreignRolloutsDropped());
    train.put("fallback_rows", outcome.fallbackRows());
    if (outcome.lagHistogram().length > 0) {
      ObjectNode lag = train.putObject("rollout_lag");
      long[] range = outcome.lagRange();
      lag.put("min", range[0]);
      lag.put("mean", outcome.meanLag());
      lag.put("max", range[1]);
      var counts = lag.putArray("rollouts_by_lag");
      for (long c : outcome.lagHistogram()) {
        counts.add(c);
      }
    }
    train.put("last_policy_version", outcome.lastPolicyVersion());
    if (outcome.seqkd() != null) {
      ObjectNode sk = train.putObject("seqkd");
      sk.put("rows", outcome.seqkd().rows());
      sk.put("tokens", outcome.seqkd().tokens());
      sk.put("wait_seconds", outcome.seqkd().waitSeconds());
    }
    r.put("wall_seconds", wallSeconds);
    ObjectNode headline = r.putObject("after_evaluation");
    headline.put("step", outcome.finalEval().step());
    headline.put("mean_alpha", outcome.finalEval().meanAlpha());
    r.set("overall", metrics(before.overall(), after().overall()));
    ObjectNode domains = r.putObject("by_domain");
    after().byDomain().forEach((d, a) -> domains.set(d, metrics(before.byDomain().get(d), a)));
    if (continuations != null) {
      r.set("continuations", continuations.toJson());
    }
    if (!stages.isEmpty()) {
      stages.forEach(s -> r.withArray("stages").add(s.toJson()));
    }
    return r;
  }

  private static ObjectNode metrics(EvalMetrics b, EvalMetrics a) {
    ObjectNode n = JSON.createObjectNode();
    n.put("tokens", a.tokens());
    n.put("teacher_perplexity", a.teacherPerplexity());
    n.put("kl_before", b.meanKl());
    n.put("kl_after", a.meanKl());
    n.put("student_perplexity_before", b.studentPerplexity());
    n.put("student_perplexity_after", a.studentPerplexity());
    n.put("top1_agreement_before", b.top1Agreement());
    n.put("top1_agreement_after", a.top1Agreement());
    n.put("gap_recovered", a.gapRecovered(b));
    return n;
  }

  /** The report as a table for a terminal. */
  public String toTable() {
    StringBuilder sb = new StringBuilder();
    EvalMetrics b = before.overall();
    EvalMetrics a = after().overall();
    sb.append(String.format(Locale.ROOT, "retrofit %s, %s; %,d steps, %,d trained positions, %.0f s"
            + " (waiting for targets %.0f%%)%n", retrofit, divergence, outcome.steps(), outcome.tokensSeen(),
        wallSeconds, 100 * outcome.teacherWaitSeconds() / Math.max(1e-9, outcome.trainSeconds())));
    sb.append("held out: ").append(evaluationSet.describe()).append('\n');
    if (outcome.lastPolicyVersion() >= 0) {
      long[] lag = outcome.lagRange();
      sb.append(String.format(Locale.ROOT, "on-policy: %,d tokens generated, newest policy version %d,"
          + " policy lag %d..%d (mean %.1f) steps, %d stale and %d foreign rollouts dropped,"
          + " %d rows trained on corpus text while samplers were unavailable%n", outcome.generatedTokens(),
          outcome.lastPolicyVersion(), lag[0], lag[1], outcome.meanLag(), outcome.staleRolloutsDropped(),
          outcome.foreignRolloutsDropped(), outcome.fallbackRows()));
    }
    if (outcome.seqkd() != null) {
      sb.append(String.format(Locale.ROOT, "seqkd: %,d rows of the teacher's continuations, %,d continuation"
          + " positions trained, %.1f s waited for their generation%n", outcome.seqkd().rows(),
          outcome.seqkd().tokens(), outcome.seqkd().waitSeconds()));
    }
    if (continuations != null) {
      sb.append(continuations.describe());
    }
    for (StageReport s : stages) {
      sb.append(String.format(Locale.ROOT, "alignment %s: %,d steps, %,d positions (budget %,d), layers %s,"
          + " loss %.4f -> %.4f, %.0f s%n", s.stage().label(), s.steps(), s.positions(), s.budget(), s.layers(),
          s.firstLoss(), s.lastLoss(), s.seconds()));
    }
    sb.append(String.format(Locale.ROOT, "%-26s %14s %16s %16s%n", "", "teacher", "student before",
        "student after"));
    row(sb, "KL(teacher||student) nats", 0, b.meanKl(), a.meanKl(), "%.4f");
    row(sb, "perplexity", a.teacherPerplexity(), b.studentPerplexity(), a.studentPerplexity(), "%.2f");
    row(sb, "top-1 agreement", 1, b.top1Agreement(), a.top1Agreement(), "%.3f");
    sb.append(String.format(Locale.ROOT, "%-26s %14s %16s %15.1f%%%n", "gap recovered", "", "",
        100 * a.gapRecovered(b)));
    sb.append(String.format(Locale.ROOT, "%-26s %,14d %,16d %,16d%n", "parameters",
        teacher.parameterCount(), studentParameters, studentParameters));
    sb.append(String.format(Locale.ROOT, "%-26s %,14d %,16d %,16d%n", "weight bytes (stored)",
        teacher.parameterCount() * Float.BYTES, studentWeightBytes, studentWeightBytes));
    sb.append(String.format(Locale.ROOT, "%-26s %,14d %,16d %,16d%n", "KV-cache bytes/token (fp32)",
        teacher.kvCacheBytesPerToken(4), studentKvCacheBytesPerToken, studentKvCacheBytesPerToken));
    sb.append(String.format(Locale.ROOT, "%n%-16s %7s %10s %10s %9s %9s %9s %9s%n", "genre", "tokens",
        "KL before", "KL after", "gap rec.", "ppl T", "ppl S0", "ppl S1"));
    for (Map.Entry<String, EvalMetrics> e : after().byDomain().entrySet()) {
      EvalMetrics db = before.byDomain().get(e.getKey());
      EvalMetrics da = e.getValue();
      sb.append(String.format(Locale.ROOT, "%-16s %,7d %10.4f %10.4f %8.1f%% %9.2f %9.2f %9.2f%n",
          e.getKey(), da.tokens(), db.meanKl(), da.meanKl(), 100 * da.gapRecovered(db),
          da.teacherPerplexity(), db.studentPerplexity(), da.studentPerplexity()));
    }
    return sb.toString();
  }

  private static void row(StringBuilder sb, String name, double t, double b, double a, String fmt) {
    sb.append(String.format(Locale.ROOT, "%-26s %14s %16s %16s%n", name,
        String.format(Locale.ROOT, fmt, t), String.format(Locale.ROOT, fmt, b),
        String.format(Locale.ROOT, fmt, a)));
  }
}
