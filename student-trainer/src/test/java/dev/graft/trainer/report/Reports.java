package dev.graft.trainer.report;

import dev.graft.model.LlamaConfig;
import dev.graft.trainer.distill.DistillEvaluator;
import dev.graft.trainer.distill.DistillOutcome;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.distill.EvalMetrics;
import dev.graft.trainer.distill.Evaluation;
import dev.graft.trainer.distill.EvaluationSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;

/** Synthetic reports with chosen KLs, and reading pages back. */
final class Reports {

  private Reports() {}

  /** Metrics of 100 tokens with mean KL {@code kl}, student perplexity e^2 and top-1 agreement 0.5. */
  static EvalMetrics metrics(double kl) {
    return new EvalMetrics(100, 100 * kl, 200, 150, 50);
  }

  /**
   * A report of {@code steps} steps whose overall KL goes from {@code before} to {@code after};
   * {@code genres} maps a genre to its {before, after} KL.
   */
  static DistillReport report(long steps, double before, double after, Map<String, double[]> genres) {
    Map<String, EvalMetrics> b = new TreeMap<>();
    Map<String, EvalMetrics> a = new TreeMap<>();
    genres.forEach((g, kl) -> {
      b.put(g, metrics(kl[0]));
      a.put(g, metrics(kl[1]));
    });
    DistillEvaluator.Result last = new DistillEvaluator.Result(metrics(after), a);
    DistillOutcome outcome = new DistillOutcome(steps, 0.1, steps * 512, 10, 1, new Evaluation(steps, 1, last),
        0, 0, 0, 0, new long[0], -1);
    LlamaConfig teacher = LlamaConfig.tiny(300);
    return new DistillReport("gqa 4 -> 1 kv heads", "forward_kl", teacher, teacher.withNumKeyValueHeads(1),
        new DistillEvaluator.Result(metrics(before), b), outcome, 0, 12, new EvaluationSet(6, true, "0".repeat(64)), null);
  }

  static Map<String, double[]> genres(Object... nameThenBeforeAfter) {
    Map<String, double[]> m = new LinkedHashMap<>();
    for (int i = 0; i < nameThenBeforeAfter.length; i += 3) {
      m.put((String) nameThenBeforeAfter[i], new double[] {(double) nameThenBeforeAfter[i + 1],
          (double) nameThenBeforeAfter[i + 2]});
    }
    return m;
  }

  static Document parse(String html) {
    return Jsoup.parse(html);
  }

  static double num(org.jsoup.nodes.Element e, String attr) {
    return Double.parseDouble(e.attr(attr));
  }
}
