package dev.graft.trainer.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.graft.bench.ModelFlops;
import dev.graft.model.LlamaConfig;
import java.util.List;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

class TrainStepBenchTest {

  /** One millisecond per reading: every timed interval is exactly 1 ms. */
  private static LongSupplier ticking() {
    long[] now = {0};
    return () -> now[0] += 1_000_000;
  }

  @Test
  void breakdown_timesEachGroup_andAttributesTheRestOfTheStep() {
    LlamaConfig c = LlamaConfig.tiny(61);
    TrainStepBench.Result r = TrainStepBench.run(c, 2, 8, 1, 1, 3, ticking());
    assertEquals(1e-3, r.stepSeconds(), 1e-12);
    assertEquals(List.of("projections", "attention", "norms_activations", "vocabulary_loss", "optimizer",
        "java_and_overhead"), List.copyOf(r.groupSeconds().keySet()));
    for (String g : List.of("projections", "attention", "norms_activations", "vocabulary_loss", "optimizer")) {
      assertEquals(1e-3, r.groupSeconds().get(g), 1e-12, g);
    }
    assertEquals(1e-3 - 5e-3, r.groupSeconds().get("java_and_overhead"), 1e-12);
    assertEquals(ModelFlops.trainingStep(c, 2, 8), r.flops(), 1e-6);
    assertEquals(r.flops() / 1e-3 / 1e9, (Double) r.toMap().get("gflops_per_second"), 1e-9);
  }

  @Test
  void withoutBreakdown_noGroups() {
    var r = TrainStepBench.run(LlamaConfig.tiny(61), 1, 4, 0, 1, 3, ticking(), false);
    assertEquals(0, r.groupSeconds().size());
  }

  @Test
  void sequenceBeyondTheContext_isRefusedWithTheValues() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> TrainStepBench.run(LlamaConfig.tiny(61), 1, 129, 0, 1, 3, ticking()));
    assertEquals("seq_len (129) exceeds max_position_embeddings (128)", e.getMessage());
  }
}
