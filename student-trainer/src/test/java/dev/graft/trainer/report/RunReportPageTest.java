package dev.graft.trainer.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jsoup.nodes.Document;
import org.jsoup.select.Elements;
import org.junit.jupiter.api.Test;

class RunReportPageTest {

  private static RunHistory.Step onPolicyStep(long step, long oldest, double lagMin, double lagMean, double lagMax) {
    return new RunHistory.Step(step, 1.0, 1.0, 0, step - 1, oldest, lagMin, lagMean, lagMax);
  }

  private static Document render(List<RunHistory.Step> steps) {
    return Reports.parse(RunReportPage.render("run", Reports.report(4, 0.8, 0.2, Reports.genres("news", 0.8, 0.2)),
        new RunHistory(steps, List.of(), null), "train:\n  steps: 4\n"));
  }

  @Test
  void lagChart_plotsTheLoggedMinMeanAndMaxLag_whenPresent() {
    Document d = render(List.of(onPolicyStep(1, 0, 1, 1, 1), onPolicyStep(2, 0, 1, 1.5, 2),
        onPolicyStep(3, 1, 0, 1.25, 2)));
    Elements mean = d.select("circle.point[data-series=mean lag]");
    assertEquals(List.of("1", "1.5", "1.25"), mean.eachAttr("data-y"));
    assertEquals(List.of("1", "2", "2"), d.select("circle.point[data-series=max lag]").eachAttr("data-y"));
    assertEquals(List.of("1", "1", "0"), d.select("circle.point[data-series=min lag]").eachAttr("data-y"));
  }

  @Test
  void lagChart_withoutLagFields_plotsStepMinusOldestRolloutVersion() {
    double nan = Double.NaN;
    Document d = render(List.of(onPolicyStep(10, 0, nan, nan, nan), onPolicyStep(11, 10, nan, nan, nan),
        onPolicyStep(12, -1, nan, nan, nan)));
    Elements pts = d.select("circle.point[data-series=step − oldest rollout version]");
    assertEquals(List.of("10", "11"), pts.eachAttr("data-x"), "step 12 had no rollouts");
    assertEquals(List.of("10", "1"), pts.eachAttr("data-y"));
  }

  @Test
  void offPolicyRun_hasNoLagChart() {
    Document d = render(List.of(new RunHistory.Step(1, 1, 1, 0, -1, -1, Double.NaN, Double.NaN, Double.NaN)));
    assertTrue(d.select("svg.chart > title").eachText().stream().noneMatch(t -> t.contains("lag")));
  }

  @Test
  void headlineTable_showsTheReportsBeforeAndAfter() {
    Document d = render(List.of());
    assertEquals(0.75, Reports.num(d.selectFirst("td.headline-gap"), "data-value"), 1e-12);
    assertEquals("75.0%", d.selectFirst("td.headline-gap").text());
    Elements kl = d.select("table.headline tbody tr").get(0).select("td");
    assertEquals(List.of("0.0000", "0.8000", "0.2000"), kl.eachText());
  }
}
