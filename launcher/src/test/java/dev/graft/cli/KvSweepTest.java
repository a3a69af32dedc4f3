package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.cli.KvSweep.Predictor;
import dev.graft.cli.KvSweep.Sizing;
import dev.graft.model.LlamaConfig;
import dev.graft.retrofit.GqaRetrofit;
import dev.graft.retrofit.KvInit;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.pretrain.PretrainConfig;
import dev.graft.trainer.report.KvSweepTables;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KvSweepTest {

  private static final Path MQA = Path.of("/models/base-small-mqa-brown");

  private static Predictor predictor(Sizing s, String name) {
    return KvSweep.predictors(s).stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void predictors_areTheGroundTruthThenEveryCheapRun() {
    Sizing full = KvSweep.sizing("full");
    assertEquals(List.of("from_scratch", "from_scratch_10pct", "mha_mean_pool", "mha_keep_one", "mha_random",
        "mqa_duplicate", "mqa_random"), KvSweep.predictors(full).stream().map(Predictor::name).toList());
    assertEquals(150, predictor(full, "from_scratch").steps());
    assertEquals(15, predictor(full, "from_scratch_10pct").steps());
    assertNull(predictor(full, "from_scratch").base());
    assertEquals(KvSweep.Base.MQA, predictor(full, "mqa_duplicate").base());
    assertEquals(List.of(8, 4, 2, 1), KvSweep.KV_HEADS);
  }

  @Test
  void everyPredictor_getsATenthOfTheGroundTruthsPositions() {
    Sizing full = KvSweep.sizing("full");
    PretrainConfig p = PretrainConfig.defaults();
    assertEquals(15, full.shortSteps());
    assertEquals(15L * p.batchSize() * p.seqLen(), full.retrofitPositions());
    assertEquals(30_720, full.retrofitPositions());
    Sizing quick = KvSweep.sizing("quick");
    assertEquals(2, quick.shortSteps());
    assertEquals(2, quick.seeds());
    for (int kv : KvSweep.KV_HEADS) {
      RunConfig c = ExperimentArms.sized(RunConfig.defaults(), KvSweep.arm(predictor(full, "mqa_duplicate"), kv, MQA,
          full), full.retrofitPositions(), 1, "/tmp/x");
      RunPlan plan = RunPlan.of(c);
      assertEquals(full.shortSteps(), plan.train().steps());
      assertEquals(kv, c.retrofit().kvHeads());
      assertEquals("duplicate", c.retrofit().init());
      assertEquals(MQA.toString(), c.teacher().model());
      assertEquals(0, c.eval().continuations());
      assertEquals(KvSweep.DISTILL_EVAL_SEQUENCES, c.eval().sequences());
      assertEquals(1235, c.train().seed());
    }
  }

  @Test
  void theMqaBase_widensToEveryKvHeadCountByDuplication() {
    LlamaConfig mqa = LlamaConfig.small(4096).withNumKeyValueHeads(1);
    for (int kv : KvSweep.KV_HEADS) {
      assertEquals(LlamaConfig.small(4096).withNumKeyValueHeads(kv),
          new GqaRetrofit(kv, KvInit.DUPLICATE, 0).targetConfig(mqa));
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new GqaRetrofit(2, KvInit.MEAN_POOL, 0).targetConfig(mqa));
    assertTrue(e.getMessage().contains("use duplicate to go from fewer heads to more"), e.getMessage());
  }

  @Test
  void fromScratch_movesInitAndDataOrderWithTheSeed() {
    PretrainConfig c = KvSweep.scratch(150, 1);
    assertEquals(150, c.steps());
    assertEquals(15, c.warmupSteps());
    assertEquals(0, c.evalEvery());
    assertEquals(0, c.checkpointEvery());
    assertEquals(1235, c.seed());
    assertEquals(1, KvSweep.scratch(15, 0).warmupSteps());
    assertEquals(LlamaConfig.small(4096).withNumKeyValueHeads(2), KvSweep.architecture(4096, 2));
  }

  @Test
  void sizing_isValidated() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Sizing(2, 5, 16));
    assertEquals("kv-sweep needs --seeds >= 1 (got 2), ground-truth steps >= 10 (got 5, so a tenth is a step) and"
        + " >= 1 held-out sequence (got 16)", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> KvSweep.sizing("fast"));
  }

  @Test
  void tables_stateTheScale_andRankEveryPredictorAgainstTheGroundTruth() {
    Sizing s = new Sizing(2, 150, 128);
    List<Predictor> ps = KvSweep.predictors(s).subList(0, 2);
    List<KvSweepTables.Predictor> scored = List.of(
        new KvSweepTables.Predictor("from_scratch", "", List.of(new double[] {5.0, 5.1, 5.2, 5.3},
            new double[] {5.0, 5.1, 5.3, 5.2})),
        new KvSweepTables.Predictor("from_scratch_10pct", "", List.of(new double[] {7.0, 7.1, 7.2, 7.3},
            new double[] {7.0, 7.1, 7.2, 7.3})));
    String t = KvSweep.tables(s, ps, scored, Map.of(), 12.5, "1,200 steps");
    assertTrue(t.contains("Ground truth: pretrained from scratch for 150 steps (307,200 tokens; the embedded base"
        + " model trains 1,200)"), t);
    assertTrue(t.contains("a tenth of that (30,720 positions): from scratch for 15 steps"), t);
    // seed means (5.0, 5.1, 5.25, 5.25) tie at 2 and 1 KV heads: rho of the means 4.5 / sqrt(22.5)
    assertTrue(t.contains("| from_scratch | 8 < 4 < 2 = 1 | — | — | — |"), t);
    assertTrue(t.contains("| from_scratch_10pct | 8 < 4 < 2 < 1 | 1.00, 0.80 | 0.90 ± 0.14 | 0.95 |"), t);
    assertTrue(t.contains("Wall time: 12.5 min."), t);
    assertTrue(t.contains("or the MQA base (1,200 steps)"), t);
  }

  @Test
  void anMqaBaseWithoutAModel_isRefusedWithWhatToRun(@TempDir Path tmp) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvSweep.checkMqa(tmp, tmp));
    assertEquals("--mqa-base " + tmp + " holds no config.json; train one with `graft pretrain --preset small-mqa"
        + " --out " + tmp + "`", e.getMessage());
  }

  @Test
  void select_keepsTheGroundTruth_andRefusesUnknownPredictors() {
    Sizing s = KvSweep.sizing("quick");
    assertEquals(List.of("from_scratch", "from_scratch_10pct", "mqa_random"), KvSweep.select(s,
        List.of("mqa_random", "from_scratch_10pct")).stream().map(Predictor::name).toList());
    assertEquals(7, KvSweep.select(s, null).size());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> KvSweep.select(s, List.of("mha_mean")));
    assertEquals("unknown kv-sweep predictor 'mha_mean' (expected some of from_scratch_10pct, mha_mean_pool,"
        + " mha_keep_one, mha_random, mqa_duplicate, mqa_random)", e.getMessage());
  }
}
