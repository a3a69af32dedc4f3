package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

  @Test
  void graduality_comparesInt4GradualWithAbrupt_atTheSameBudget() {
    Map<Study, List<String>> names = ExperimentArms.all().stream().collect(Collectors.groupingBy(Arm::study,
        Collectors.mapping(Arm::name, Collectors.toList())));
    assertEquals(List.of("int4_gradual", "int4_abrupt"), names.get(Study.GRADUALITY));
    RunPlan gradual = RunPlan.of(ExperimentArms.sized(DEFAULTS, arm("int4_gradual"), 65_536, 1, "x"));
    RunPlan abrupt = RunPlan.of(ExperimentArms.sized(DEFAULTS, arm("int4_abrupt"), 65_536, 1, "x"));
    RunConfig g = ExperimentArms.sized(DEFAULTS, arm("int4_gradual"), 65_536, 1, "x");
    assertEquals("quant", g.retrofit().type());
    assertEquals(4, g.retrofit().bits());
    assertEquals(13, g.retrofit().alphaRampSteps());
    assertEquals(0, ExperimentArms.sized(DEFAULTS, arm("int4_abrupt"), 65_536, 1, "x").retrofit().alphaRampSteps());
    assertEquals(32, gradual.train().steps());
    assertEquals(gradual.train().steps(), abrupt.train().steps());
    assertEquals(List.of(Study.GRADUALITY), ExperimentCommand.studies("graduality", ExperimentCommand.preset("full")));
    assertEquals(List.of("int4_gradual", "int4_abrupt", "hybrid_half_gradual", "hybrid_half_abrupt"),
        ExperimentCommand.arms(List.of(Study.GRADUALITY), DEFAULTS, true).stream().map(Arm::name).toList());
  }

  @Test
  void studyList_andArmFilter_chooseExactlyTheNamedArms() {
    ExperimentCommand.Preset full = ExperimentCommand.preset("full");
    assertEquals(List.of(Study.HYBRID_STAGES, Study.SEQKD, Study.GRADUALITY),
        ExperimentCommand.studies("hybrid,seqkd,graduality,hybrid", full));
    assertEquals("experiment-hybrid+seqkd", ExperimentCommand.directory("full", "hybrid,seqkd"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ExperimentCommand.studies("hybrid,kv-sweep", full));
    assertEquals("--study 'hybrid,kv-sweep': a list joins study names other than all and kv-sweep, without empty"
        + " entries", e.getMessage());
    List<Arm> graduality = ExperimentCommand.arms(List.of(Study.GRADUALITY), DEFAULTS, true);
    assertEquals(List.of("hybrid_half_gradual", "hybrid_half_abrupt"), ExperimentCommand.only(graduality,
        List.of("hybrid_half_abrupt", "hybrid_half_gradual")).stream().map(Arm::name).toList());
    assertEquals(graduality, ExperimentCommand.only(graduality, null));
    e = assertThrows(IllegalArgumentException.class, () -> ExperimentCommand.only(graduality, List.of("int8")));
    assertEquals("--arms: no arm 'int8' in the chosen studies (they have int4_gradual, int4_abrupt, "
        + "hybrid_half_gradual, hybrid_half_abrupt)", e.getMessage());
  }

  @Test
  void hybridArms_coverAttentionShareStagesGradualityAndSeqKd() {
    Map<Study, List<String>> names = ExperimentArms.hybrid().stream().collect(Collectors.groupingBy(Arm::study,
        Collectors.mapping(Arm::name, Collectors.toList())));
    assertEquals(List.of("hybrid_half_stages", "hybrid_half_direct", "hybrid_quarter_stages", "hybrid_quarter_direct"),
        names.get(Study.HYBRID_STAGES));
    assertEquals(List.of("hybrid_half_gradual", "hybrid_half_abrupt"), names.get(Study.GRADUALITY));
    assertEquals(List.of("hybrid_half_kl", "hybrid_half_seqkd_kl"), names.get(Study.SEQKD));
    Arm quarter = ExperimentArms.hybrid().stream().filter(a -> a.name().equals("hybrid_quarter_stages")).findFirst()
        .orElseThrow();
    assertTrue(quarter.overrides().contains("retrofit.attention_layers=every:4"), quarter.overrides().toString());
    assertEquals(ExperimentArms.STAGE_SHARE, quarter.stageShare());
  }

  @Test
  void stages_comeOutOfTheSameBudget() {
    // a quarter of 65,536 positions to the two stages, half each; the rest is 24 steps of 2,048
    assertArrayEquals(new long[] {8_192, 8_192, 49_152}, ExperimentArms.stageSplit(65_536, 0.25));
    assertArrayEquals(new long[] {0, 0, 65_536}, ExperimentArms.stageSplit(65_536, 0));
    assertArrayEquals(new long[] {1, 2, 7}, ExperimentArms.stageSplit(10, 0.25)); // rounding keeps the total
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Arm("x", Study.HYBRID_STAGES, List.of(), 1));
    assertEquals("arm x: stage share (1.0) must be in [0, 1)", e.getMessage());
  }

  @Test
  void hybridArms_areRunnable_andEachSizedConfigIsAValidPlan() {
    List<Arm> hybrid = ExperimentArms.hybrid();
    assertTrue(hybrid.stream().allMatch(a -> ExperimentArms.available(DEFAULTS, a)), "every hybrid arm's keys exist");
    for (Arm a : hybrid) {
      RunPlan plan = RunPlan.of(ExperimentArms.sized(DEFAULTS, a, 65_536, 1, "x"));
      assertEquals("hybrid", plan.source().retrofit().type(), a.name());
      assertEquals(a.stageShare() > 0, plan.align().enabled(), a.name());
    }
    assertTrue(ExperimentCommand.arms(List.of(Study.values()), DEFAULTS, false).stream()
        .anyMatch(a -> a.name().equals("hybrid_half_seqkd_kl")));
  }

  @Test
  void eachStudy_writesToItsOwnDirectory() {
    assertEquals("experiment-kv-sweep", ExperimentCommand.directory("full", "kv-sweep"));
    assertEquals("experiment-graduality-quick", ExperimentCommand.directory("quick", "graduality"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ExperimentCommand.studies("sweep", ExperimentCommand.preset("full")));
    assertEquals("unknown --study 'sweep' (expected objectives, retrofit, graduality, hybrid, seqkd, all or kv-sweep)",
        e.getMessage());
  }

  @Test
  void help_namesEveryStudy() {
    String usage = new picocli.CommandLine(new ExperimentCommand()).getUsageMessage().replaceAll("\\s+", " ");
    assertTrue(usage.contains("objectives | retrofit | graduality | hybrid | seqkd | all (every study but kv-sweep)"
        + " | kv-sweep"), usage);
    assertTrue(usage.contains("int4_gradual vs int4_abrupt"), usage);
    assertTrue(usage.contains("--ground-truth-steps=N"), usage);
    assertTrue(usage.contains("Spearman's rho per seed and over seed means"), usage);
  }

  @Test
  void sweepOptions_withAnotherStudy_areRefused() {
    ExperimentCommand c = new ExperimentCommand();
    new picocli.CommandLine(c).parseArgs("--study", "graduality", "--predictors", "mha_random");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c::requireNoSweepOptions);
    assertEquals("--ground-truth-steps, --heldout-sequences, --predictors and --mqa-base apply to --study kv-sweep"
        + " only", e.getMessage());
    ExperimentCommand plain = new ExperimentCommand();
    new picocli.CommandLine(plain).parseArgs("--study", "graduality");
    plain.requireNoSweepOptions();
  }
}
