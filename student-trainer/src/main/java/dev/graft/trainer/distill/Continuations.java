package dev.graft.trainer.distill;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;

/**
 * The teacher's judgement of continuations of the same held-out document beginnings written by
 * the teacher itself (the reference), the untrained student and the trained student (both at
 * α = 1). See {@link ContinuationEvaluator}.
 *
 * @param prompts held-out document beginnings continued
 * @param newTokens the most tokens each continuation has
 */
public record Continuations(int prompts, int newTokens, ContinuationEvaluator.Result teacher,
    ContinuationEvaluator.Result before, ContinuationEvaluator.Result after) {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** {@code report.json}'s {@code continuations} object. */
  public ObjectNode toJson() {
    ObjectNode n = JSON.createObjectNode();
    n.put("prompts", prompts);
    n.put("max_new_tokens", newTokens);
    n.set("overall", metrics(teacher.overall(), before.overall(), after.overall()));
    ObjectNode domains = n.putObject("by_domain");
    after.byDomain().forEach((d, a) -> domains.set(d,
        metrics(teacher.byDomain().get(d), before.byDomain().get(d), a)));
    return n;
  }

  private static ObjectNode metrics(ContinuationEvaluator.Metrics t, ContinuationEvaluator.Metrics b,
      ContinuationEvaluator.Metrics a) {
    ObjectNode n = JSON.createObjectNode();
    n.put("tokens_after", a.tokens());
    n.put("teacher_nll_of_teacher", t == null ? Double.NaN : t.teacherNll());
    n.put("teacher_nll_before", b == null ? Double.NaN : b.teacherNll());
    n.put("teacher_nll_after", a.teacherNll());
    n.put("reverse_kl_before", b == null ? Double.NaN : b.reverseKl());
    n.put("reverse_kl_after", a.reverseKl());
    return n;
  }

  /** Two lines for the report table. */
  public String describe() {
    return String.format(Locale.ROOT, "own continuations of %d held-out beginnings (up to %d tokens, temperature 1),"
            + " judged by the teacher:%n  teacher NLL/token: teacher's own %.3f, student before %.3f, after %.3f;"
            + " reverse KL/token: before %.4f, after %.4f%n", prompts, newTokens, teacher.overall().teacherNll(),
        before.overall().teacherNll(), after.overall().teacherNll(), before.overall().reverseKl(),
        after.overall().reverseKl());
  }
}
