package dev.graft.trainer.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.model.LlamaConfig;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.trainer.distill.DistillJob;
import dev.graft.trainer.distill.DistillListener;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.distill.EvalLog;
import dev.graft.trainer.distill.EvalMetrics;
import dev.graft.trainer.distill.Evaluation;
import dev.graft.trainer.distill.StepLog;
import dev.graft.trainer.distill.StepStats;
import dev.graft.trainer.distill.TinyTeacher;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.jsoup.select.Elements;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report of a short real distillation (tiny teacher, 12 steps, an α ramp over the first 8,
 * an evaluation every 3 steps) holds that run's actual numbers.
 *
 * <p>Tolerance: the page writes every value as the shortest decimal that reads back as the same
 * double, so values are compared to a relative 1e-12.
 */
class RunReportPageRealRunTest {

  private static final double TOL = 1e-12;

  @TempDir
  static Path dir;
  private static final List<StepStats> steps = new ArrayList<>();
  private static final List<Evaluation> evals = new ArrayList<>();
  private static DistillReport report;
  private static String yaml;
  private static Path runDir;
  private static Document page;

  @BeforeAll
  static void runAndRender() throws Exception {
    RunConfig cfg = RunConfig.load(null, TinyTeacher.overrides("train.steps=12", "eval.every=3",
        "retrofit.alpha_ramp_steps=8", "retrofit.kv_heads=1", "train.lr=3e-3"));
    RunPlan.Bound plan = RunPlan.of(cfg).bind(LlamaConfig.read(TinyTeacher.dir().resolve(HfCheckpoint.CONFIG_FILE)));
    runDir = dir.resolve("distill-tiny");
    DistillListener recorder = new DistillListener() {
      @Override
      public void onStep(StepStats s) {
        steps.add(s);
      }

      @Override
      public void onEval(Evaluation e) {
        evals.add(e);
      }
    };
    try (LocalTeacher teacher = LocalTeacher.load(TinyTeacher.dir());
        NDManager m = NDManager.newBaseManager();
        StepLog stepLog = new StepLog(runDir);
        EvalLog evalLog = new EvalLog(runDir)) {
      DistillJob job = new DistillJob(plan, TinyTeacher.dir(), runDir, runDir.resolve("student"));
      report = job.run(teacher, TinyTeacher.CORPUS, m, DistillListener.all(stepLog, evalLog, recorder),
          TinyTeacher.quiet());
    }
    yaml = plan.plan().source().toYaml();
    Path html = RunReportPage.write(runDir, runDir.resolve("student"), report, yaml);
    assertEquals(runDir.resolve("student").resolve(DistillJob.REPORT_JSON).resolveSibling("report.html"), html);
    page = Jsoup.parse(html.toFile());
  }

  private static void assertClose(double expected, double actual, String what) {
    assertEquals(expected, actual, TOL * Math.max(1, Math.abs(expected)), what);
  }

  @Test
  void lossChart_holdsEveryStepsActualLoss() {
    Elements pts = page.select("circle.point[data-series=" + RunCharts.LOSS + "]");
    assertEquals(12, steps.size());
    assertEquals(steps.size(), pts.size());
    for (int i = 0; i < steps.size(); i++) {
      assertEquals(steps.get(i).step(), (long) Reports.num(pts.get(i), "data-x"));
      assertClose(steps.get(i).loss(), Reports.num(pts.get(i), "data-y"), "loss of step " + steps.get(i).step());
    }
  }

  @Test
  void klChart_marksEveryEvaluationWithItsKlAndAlpha_blendedOnesOpen() {
    assertEquals(List.of(3L, 6L, 9L, 12L), evals.stream().map(Evaluation::step).toList());
    Elements pts = page.select("circle.point[data-series=" + RunCharts.KL + "]");
    assertEquals(evals.size(), pts.size());
    for (int i = 0; i < evals.size(); i++) {
      Evaluation e = evals.get(i);
      Element p = pts.get(i);
      assertEquals(e.step(), (long) Reports.num(p, "data-x"));
      assertClose(e.result().overall().meanKl(), Reports.num(p, "data-y"), "KL at step " + e.step());
      assertClose(e.meanAlpha(), Reports.num(p, "data-alpha"), "mean alpha at step " + e.step());
      assertEquals(e.blended(), p.hasClass("open"), "step " + e.step());
      assertEquals(e.blended(), p.attr("data-note").startsWith("blended (mean α "), p.attr("data-note"));
    }
    assertEquals(0.375, evals.get(0).meanAlpha(), 1e-12, "2 layers, ramp of 8: at step 3 one is at 0.75");
    assertEquals("blended (mean α 0.37)", pts.get(0).attr("data-note"));
    assertEquals("α = 1, final: the headline", pts.get(3).attr("data-note"));
    assertClose(report.before().overall().meanKl(),
        Reports.num(page.selectFirst("line.rule[data-series=" + RunCharts.BEFORE + "]"), "data-y"), "KL before");
    Element ramp = page.selectFirst("rect.band[data-series=" + RunCharts.RAMP + "]");
    assertEquals(1, Reports.num(ramp, "data-x0"), 0);
    assertEquals(7, Reports.num(ramp, "data-x1"), 0, "at step 8 every layer is at alpha = 1");
  }

  @Test
  void genreBars_holdEachGenresKlBeforeAndAfterAndGap() {
    Map<String, EvalMetrics> after = report.after().byDomain();
    assertEquals(List.of("fiction", "learned", "news"), List.copyOf(after.keySet()));
    for (String g : after.keySet()) {
      EvalMetrics b = report.before().byDomain().get(g);
      EvalMetrics a = after.get(g);
      assertClose(b.meanKl(), Reports.num(page.selectFirst("rect.bar[data-series=" + RunCharts.KL_BEFORE
          + "][data-x=" + g + "]"), "data-y"), g + " before");
      assertClose(a.meanKl(), Reports.num(page.selectFirst("rect.bar[data-series=" + RunCharts.KL_AFTER
          + "][data-x=" + g + "]"), "data-y"), g + " after");
      assertClose(a.gapRecovered(b), Reports.num(page.selectFirst("text.annotation[data-x=" + g + "]"), "data-y"),
          g + " gap");
    }
  }

  @Test
  void headline_isTheFinalAlphaOneEvaluation() {
    Evaluation last = evals.get(evals.size() - 1);
    assertEquals(1.0, last.meanAlpha());
    double gap = last.result().overall().gapRecovered(report.before().overall());
    Element cell = page.selectFirst("td.headline-gap");
    assertClose(gap, Reports.num(cell, "data-value"), "headline gap recovered");
    for (Evaluation e : evals.subList(0, 2)) {
      assertTrue(e.blended());
      assertNotEquals(e.result().overall().gapRecovered(report.before().overall()), Reports.num(cell, "data-value"));
    }
    Elements blendedRows = page.select("table.evals tr.blended");
    assertEquals(List.of("3", "6"), blendedRows.stream().map(r -> r.child(0).text()).toList());
    assertTrue(blendedRows.get(0).text().contains("not the student that ships"), blendedRows.get(0).text());
  }

  @Test
  void evalLog_recordsEveryEvaluationWithItsAlpha() throws Exception {
    List<String> lines = Files.readAllLines(runDir.resolve(EvalLog.FILE));
    assertEquals(1 + evals.size(), lines.size());
    ObjectMapper json = new ObjectMapper();
    assertTrue(json.readTree(lines.get(0)).get("baseline").asBoolean());
    for (int i = 0; i < evals.size(); i++) {
      JsonNode n = json.readTree(lines.get(i + 1));
      Evaluation e = evals.get(i);
      assertEquals(e.step(), n.get("step").asLong());
      assertEquals(e.meanAlpha(), n.get("mean_alpha").asDouble(), 0);
      assertEquals(e.blended(), n.get("blended").asBoolean());
      assertEquals(e.step() == 12, n.get("final").asBoolean());
      assertEquals(e.result().overall().meanKl(), n.get("kl").asDouble(), 0);
      assertEquals(e.result().overall().gapRecovered(report.before().overall()), n.get("gap_recovered").asDouble(), 0);
    }
  }

  @Test
  void waitingChart_hasEveryStep_andAnOffPolicyRunHasNoLagChart() {
    assertEquals(12, page.select("circle.point[data-series=" + RunCharts.WAIT + "]").size());
    assertTrue(page.select("[data-series*=lag]").isEmpty());
  }

  @Test
  void config_isTheResolvedYamlTheRunWrote() throws Exception {
    assertEquals(Files.readString(runDir.resolve("config.yaml")), page.selectFirst("pre.config").wholeText());
    assertTrue(yaml.contains("alpha_ramp_steps: 8"), yaml);
  }

  @Test
  void page_isSelfContained() {
    assertTrue(page.select("script, link, img, iframe, object, embed").isEmpty());
    assertTrue(page.select("[src], [href]").isEmpty(), page.select("[src], [href]").toString());
    String css = page.select("style").html();
    assertFalse(css.contains("url(") || css.contains("@import"), css);
    assertTrue(page.selectFirst("meta[http-equiv=Content-Security-Policy]").attr("content")
        .startsWith("default-src 'none'"));
    assertEquals(List.of("Training loss", "Held-out KL(teacher ‖ student)", "Trainer waiting for targets and rollouts",
        "KL to the teacher per genre, before and after (gap recovered above)"),
        page.select("svg.chart > title").eachText());
  }
}
