package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.graft.cli.ExperimentArms.Arm;
import dev.graft.trainer.plan.RunConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExperimentStoreTest {

  @Test
  void armsWithCorpusRowsAndATeacherLoss_readTheStore_othersDoNot() {
    RunConfig common = RunConfig.defaults();
    List<String> readers = ExperimentArms.all().stream()
        .filter(a -> ExperimentStore.reads(ExperimentArms.sized(common, a, 8_192, 0, "/tmp/x")))
        .map(Arm::name).toList();
    // cross_entropy asks no teacher; rollout_fkl and rollout_rkl train no corpus rows.
    assertEquals(List.of("corpus_fkl", "corpus_rkl", "mixed_rkl", "kv2_mean_pool_abrupt", "kv2_keep_one",
        "kv2_random", "kv1_mean_pool", "kv1_keep_one", "kv1_random", "int4_gradual", "int4_abrupt"), readers);
  }

  @Test
  void fullTargets_areNotReadFromTheStore() {
    RunConfig full = RunConfig.defaults().with("loss.targets=full");
    Arm corpus = ExperimentArms.all().get(1);
    assertEquals("corpus_fkl", corpus.name());
    assertEquals(false, ExperimentStore.reads(ExperimentArms.sized(full, corpus, 8_192, 0, "/tmp/x")));
  }
}
