package dev.graft.trainer.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.trainer.distill.DistillReport;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.Test;

class ExperimentReportPageTest {

  /** Two arms: one run of cross-entropy, two seeds of mixed; KL before 0.8 everywhere. */
  private static Map<String, List<DistillReport>> arms() {
    Map<String, List<DistillReport>> arms = new LinkedHashMap<>();
    arms.put("cross_entropy", List.of(Reports.report(10, 0.8, 0.6, Reports.genres("news", 0.8, 0.6, "fiction", 0.4, 0.3))));
    arms.put("mixed_reverse_kl", List.of(
        Reports.report(10, 0.8, 0.2, Reports.genres("news", 0.8, 0.2, "fiction", 0.4, 0.1)),
        Reports.report(10, 0.8, 0.4, Reports.genres("news", 0.8, 0.4, "fiction", 0.4, 0.2))));
    return arms;
  }

  @Test
  void render_gapChart_hasOneBarPerArm_meanAndStdOverSeeds() {
    Document d = Reports.parse(ExperimentReportPage.render("GQA retrofit", arms()));
    Element ce = d.selectFirst("rect.bar[data-series=gap recovered][data-x=cross_entropy]");
    assertEquals(0.25, Reports.num(ce, "data-y"), 1e-12);
    assertEquals(1, Reports.num(ce, "data-n"), 0);
    Element mixed = d.selectFirst("rect.bar[data-series=gap recovered][data-x=mixed_reverse_kl]");
    assertEquals(0.625, Reports.num(mixed, "data-y"), 1e-12); // seeds 0.75 and 0.5
    assertEquals(Math.sqrt(2) * 0.125, Reports.num(mixed, "data-std"), 1e-12);
    assertEquals(2, Reports.num(mixed, "data-n"), 0);
    assertEquals(1, d.select("section#gap g.error-bar").size(), "only the arm with several seeds has an error bar");
  }

  @Test
  void render_table_isTheArmsSideBySide_withSpreadsForSeveralSeeds() {
    Document d = Reports.parse(ExperimentReportPage.render("GQA retrofit", arms()));
    assertEquals(List.of("arm", "seeds", "trained positions", "generated tokens", "wall s", "KL before", "KL after",
        "gap recovered", "perplexity (teacher)", "top-1 agreement", "teacher NLL, own text", "reverse KL, own text"),
        d.select("table.arms thead th").eachText());
    Element mixed = d.select("table.arms tbody tr").get(1);
    assertEquals("mixed_reverse_kl", mixed.child(0).text());
    assertEquals("2", mixed.child(1).text());
    assertEquals("0.3000 ± 0.1414", mixed.child(6).text());
    assertEquals("62.5% ± 17.7 pp", mixed.child(7).text());
    assertEquals(0.625, Reports.num(mixed.child(7), "data-value"), 1e-12);
    assertEquals("25.0%", d.select("table.arms tbody tr").get(0).child(7).text());
    assertEquals("", mixed.child(10).text(), "these runs did not evaluate continuations");
  }

  @Test
  void render_perGenre_gapOfEveryArm() {
    Document d = Reports.parse(ExperimentReportPage.render("GQA retrofit", arms()));
    Element fiction = d.selectFirst("rect.bar[data-series=mixed_reverse_kl][data-x=fiction]");
    assertEquals(0.625, Reports.num(fiction, "data-y"), 1e-12); // 1 - 0.1/0.4 and 1 - 0.2/0.4
    assertEquals(0.25, Reports.num(d.selectFirst("rect.bar[data-series=cross_entropy][data-x=fiction]"), "data-y"),
        1e-12);
    assertTrue(d.select("script, link, img").isEmpty());
  }

  @Test
  void render_armWithoutRuns_isRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ExperimentReportPage.render("x", Map.of("empty", List.of())));
    assertTrue(e.getMessage().contains("'empty'"), e.getMessage());
  }
}
