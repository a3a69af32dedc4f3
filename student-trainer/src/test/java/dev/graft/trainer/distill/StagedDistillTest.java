package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.report.RunHistory;
import dev.graft.trainer.report.RunReportPage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny run with both alignment stages, then end-to-end distillation. */
class StagedDistillTest {

  private static final String[] STAGED = {"retrofit.kv_heads=1", "retrofit.init=random", "align.mixer_tokens=1024",
      "align.block_tokens=512", "align.batch_size=4", "align.lr=1e-2", "train.steps=3", "checkpoint.every=0"};

  private static DistillReport run(LocalTeacher teacher, Path dir, DistillListener l, PrintStream log) throws Exception {
    RunPlan.Bound plan = TinyTeacher.plan(STAGED);
    DistillJob job = new DistillJob(plan, TinyTeacher.dir(), dir.resolve("run"), dir.resolve("student"));
    try (NDManager m = NDManager.newBaseManager()) {
      return job.run(teacher, TinyTeacher.CORPUS, m, l, log);
    }
  }

  @Test
  void bothStagesThenEndToEnd_completes_atAlphaOne_andTheReportsShowTheStages(@TempDir Path dir) throws Exception {
    List<Double> alphas = new ArrayList<>();
    DistillListener steps = new DistillListener() {
      @Override
      public void onStep(StepStats s) {
        alphas.add(s.meanAlpha());
      }
    };
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    DistillReport report;
    DistillReport again;
    try (LocalTeacher teacher = LocalTeacher.load(TinyTeacher.dir())) {
      report = run(teacher, dir, steps, new PrintStream(console, true, StandardCharsets.UTF_8));
      again = run(teacher, dir, new DistillListener() {}, TinyTeacher.quiet()); // resumes after the last step
    }
    assertEquals(List.of(1.0, 1.0, 1.0), alphas, "stage 3 starts with every alpha at 1 after the stages");
    assertEquals(2, report.stages().size());
    StageReport mixer = report.stages().get(0);
    StageReport block = report.stages().get(1);
    assertEquals(AlignStage.MIXER, mixer.stage());
    assertEquals(1024, mixer.budget());
    assertEquals(4, mixer.steps(), "1024 positions in steps of 4 x 64");
    assertEquals(AlignStage.BLOCK, block.stage());
    assertEquals(2, block.steps());
    assertTrue(mixer.lastLoss() < mixer.firstLoss(), mixer.firstLoss() + " -> " + mixer.lastLoss());
    assertEquals(mixer.curve(), again.stages().get(0).curve(), "a resumed run reports the stages it read back");

    JsonNode json = new ObjectMapper().readTree(dir.resolve("student").resolve(DistillJob.REPORT_JSON).toFile());
    JsonNode stages = json.get("stages");
    assertEquals(2, stages.size());
    assertEquals("mixer", stages.get(0).get("name").asText());
    assertEquals(1024, stages.get(0).get("budget_positions").asLong());
    assertEquals(1024, stages.get(0).get("positions").asLong());
    assertEquals(4, stages.get(0).get("loss_curve").size());
    assertEquals(List.of(0, 1), List.of(stages.get(1).get("layers").get(0).asInt(), stages.get(1).get("layers").get(1).asInt()));
    assertEquals(block.lastLoss(), stages.get(1).get("last_loss").asDouble());

    String out = console.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("stage 1 (mixer) step 4/4: loss "), out);
    assertTrue(out.contains("stage 2 (block) step 2/2: loss "), out);
    assertTrue(Files.readString(dir.resolve("student").resolve(DistillJob.REPORT_TXT))
        .contains("alignment stage 1 (mixer): 4 steps, 1,024 positions (budget 1,024), layers [0, 1]"));
    String html = RunReportPage.render("staged", report, RunHistory.read(dir.resolve("run")), "");
    assertTrue(html.contains("Alignment stages"), "report.html has the stages section");
    assertTrue(html.contains("Stage 2 (block): loss per step"), "and a chart per stage");
  }
}
