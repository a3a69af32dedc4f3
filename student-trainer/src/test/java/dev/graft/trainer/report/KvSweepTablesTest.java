package dev.graft.trainer.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.trainer.report.KvSweepTables.Agreement;
import dev.graft.trainer.report.KvSweepTables.Predictor;
import java.util.List;
import org.junit.jupiter.api.Test;

class KvSweepTablesTest {

  private static final List<Integer> KV = List.of(8, 4, 2, 1);
  private static final Predictor TRUTH = new Predictor("from_scratch", "ground truth",
      List.of(new double[] {3.0, 3.1, 3.2, 3.3}, new double[] {3.0, 3.2, 3.1, 3.3}));
  private static final Predictor REVERSED = new Predictor("mqa_duplicate", "from MQA",
      List.of(new double[] {5, 4, 3, 2}, new double[] {5, 5, 3, 2}));

  @Test
  void agreement_pairsSeedsByIndex_andCorrelatesTheSeedMeans() {
    Agreement a = KvSweepTables.agreement(TRUTH, REVERSED);
    assertEquals(-1, a.perSeed().get(0), 1e-12);
    // seed 1: truth ranks (1, 3, 2, 4), predictor ranks (3.5, 3.5, 2, 1): -3 / sqrt(5 * 4.5)
    assertEquals(-3 / Math.sqrt(22.5), a.perSeed().get(1), 1e-12);
    // means: truth (3.0, 3.15, 3.15, 3.3) ranks (1, 2.5, 2.5, 4); predictor (5, 4.5, 3, 2) ranks (4, 3, 2, 1)
    assertEquals(-4.5 / Math.sqrt(22.5), a.ofMeans(), 1e-12);
    assertEquals((-1 - 3 / Math.sqrt(22.5)) / 2, a.spread().mean(), 1e-12);
  }

  @Test
  void ordering_putsTheLowestNllFirst_andMarksTies() {
    assertEquals("8 < 4 = 2 < 1", KvSweepTables.ordering(KV, TRUTH.means()));
    assertEquals("1 < 2 < 4 < 8", KvSweepTables.ordering(KV, REVERSED.means()));
  }

  @Test
  void tables_showMeanAndSpread_andTheCorrelations() {
    String nll = KvSweepTables.nllTable(KV, List.of(TRUTH, REVERSED));
    assertTrue(nll.contains("| predictor | seeds | 8 KV heads | 4 KV heads | 2 KV heads | 1 KV heads |"), nll);
    assertTrue(nll.contains("| from_scratch | 2 | 3.0000 ± 0.0000 | 3.1500 ± 0.0707 | 3.1500 ± 0.0707 |"
        + " 3.3000 ± 0.0000 |"), nll);
    String ranks = KvSweepTables.rankTable(KV, TRUTH, List.of(REVERSED));
    assertTrue(ranks.contains("| from_scratch | 8 < 4 = 2 < 1 | — | — | — |"), ranks);
    assertTrue(ranks.contains("| mqa_duplicate | 1 < 2 < 4 < 8 | -1.00, -0.63 | -0.82 ± 0.26 | -0.95 |"), ranks);
  }

  @Test
  void aConstantPredictor_hasNoDefinedCorrelation() {
    Predictor flat = new Predictor("flat", "", List.of(new double[] {1, 1, 1, 1}));
    assertTrue(KvSweepTables.rankTable(KV, TRUTH, List.of(flat)).contains("| flat | 8 = 4 = 2 = 1 | n/a | n/a | n/a |"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Predictor("bad", "", List.of(new double[] {1, 2}, new double[] {1})));
    assertEquals("predictor bad: every seed needs one value per KV-head count", e.getMessage());
  }
}
