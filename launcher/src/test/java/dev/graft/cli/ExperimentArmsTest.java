package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.cli.ExperimentArms.Arm;
import dev.graft.cli.ExperimentArms.Study;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ExperimentArmsTest {

  private static final RunConfig DEFAULTS = RunConfig.defaults();

  private static Arm arm(String name) {
    return ExperimentArms.all().stream().filter(a -> a.name().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void arms_coverTheObjectivesAndTheRetrofitAblations_onceEach() {
    Map<Study, List<String>> names = ExperimentArms.all().stream().collect(Collectors.groupingBy(Arm::study,
        Collectors.mapping(Arm::name, Collectors.toList())));
    assertEquals(List.of("cross_entropy", "corpus_fkl", "corpus_rkl", "rollout_fkl", "rollout_rkl", "mixed_rkl"),
        names.get(Study.OBJECTIVES));
    assertEquals(List.of("kv2_mean_pool_abrupt", "kv2_keep_one", "kv2_random", "kv1_mean_pool", "kv1_keep_one",
        "kv1_random"), names.get(Study.RETROFIT));
  }

  @Test
  void everyArm_trainsTheSameBudgetOfTargetPositions_notTheSameSteps() {
    long budget = 65_536;
    // defaults: batch 16 x 128 tokens; rollouts of up to 64 new tokens
    assertEquals(16 * 128, ExperimentArms.positionsPerStep(DEFAULTS.with("onpolicy.fraction=0")));
    assertEquals(16 * 64, ExperimentArms.positionsPerStep(DEFAULTS.with("onpolicy.fraction=1")));
    assertEquals(8 * 128 + 8 * 64, ExperimentArms.positionsPerStep(DEFAULTS.with("onpolicy.fraction=0.5")));
    for (Arm a : ExperimentArms.all()) {
      RunPlan p = RunPlan.of(ExperimentArms.sized(DEFAULTS, a, budget, 0, "/tmp/x"));
      long perStep = ExperimentArms.positionsPerStep(ExperimentArms.sized(DEFAULTS, a, budget, 0, "/tmp/x"));
      long trained = p.train().steps() * perStep;
      assertTrue(trained >= budget && trained - perStep < budget, a.name() + ": " + trained + " positions");
    }
    assertEquals(32, RunPlan.of(ExperimentArms.sized(DEFAULTS, arm("corpus_fkl"), budget, 0, "x")).train().steps());
    assertEquals(64, RunPlan.of(ExperimentArms.sized(DEFAULTS, arm("rollout_rkl"), budget, 0, "x")).train().steps());
    assertEquals(43, RunPlan.of(ExperimentArms.sized(DEFAULTS, arm("mixed_rkl"), budget, 0, "x")).train().steps());
  }

  @Test
  void theScheduleScalesWithTheSteps_andTheSeedMovesDataOrderSamplingAndInit() {
    RunConfig c = ExperimentArms.sized(DEFAULTS, arm("rollout_rkl"), 65_536, 2, "/tmp/x");
    assertEquals(64, c.train().steps());
    assertEquals(6, c.train().warmupSteps());
    assertEquals(26, c.retrofit().alphaRampSteps());
    assertEquals(8, c.onpolicy().publishEvery());
    assertEquals(17, c.onpolicy().maxPolicyLag());
    assertEquals(1236, c.train().seed());
    assertEquals(1236, c.retrofit().seed());
    assertEquals("reverse_kl", c.loss().divergence());
    RunConfig abrupt = ExperimentArms.sized(DEFAULTS, arm("kv2_mean_pool_abrupt"), 65_536, 0, "/tmp/x");
    assertEquals(0, abrupt.retrofit().alphaRampSteps());
    assertEquals(false, abrupt.retrofit().graduality());
  }

  @Test
  void presets_andStudies_areChecked() {
    assertEquals(3, ExperimentCommand.preset("full").seeds());
    assertEquals(List.of(Study.OBJECTIVES, Study.RETROFIT), ExperimentCommand.preset("quick").studies());
    assertEquals(2, ExperimentCommand.preset("quick").seeds());
    assertEquals("experiment", ExperimentCommand.directory("full"));
    assertEquals("experiment-quick", ExperimentCommand.directory("quick"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ExperimentCommand.preset("fast"));
    assertTrue(e.getMessage().contains("expected full or quick"), e.getMessage());
    assertEquals(List.of(Study.RETROFIT), ExperimentCommand.studies("retrofit", ExperimentCommand.preset("quick")));
    assertThrows(IllegalArgumentException.class, () -> ExperimentCommand.studies("both", ExperimentCommand.preset("full")));
  }
}
