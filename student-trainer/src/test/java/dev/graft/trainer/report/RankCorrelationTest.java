package dev.graft.trainer.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RankCorrelationTest {

  @Test
  void ranks_tiesShareTheAverageOfTheirRanks() {
    assertArrayEquals(new double[] {1, 2.5, 2.5, 4}, RankCorrelation.ranks(new double[] {1, 2, 2, 3}));
    assertArrayEquals(new double[] {4, 2, 2, 2}, RankCorrelation.ranks(new double[] {9, 5, 5, 5}));
    assertArrayEquals(new double[] {2, 1, 3}, RankCorrelation.ranks(new double[] {0.5, -1, 7}));
  }

  @Test
  void spearman_withTies_matchesTheHandComputedValue() {
    // ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): deviations (-1.5, 0, 0, 1.5) and (-1.5, 0.5, -0.5, 1.5);
    // sum of products 4.5, sums of squares 4.5 and 5: rho = 4.5 / sqrt(22.5)
    assertEquals(4.5 / Math.sqrt(22.5), RankCorrelation.spearman(new double[] {1, 2, 2, 3},
        new double[] {10, 30, 20, 40}), 1e-12);
    assertEquals(0.9486832980505138, RankCorrelation.spearman(new double[] {1, 2, 2, 3},
        new double[] {10, 30, 20, 40}), 1e-12);
    // ties on both sides that cancel: (1.5, 1.5, 3.5, 3.5) against (1.5, 3.5, 1.5, 3.5)
    assertEquals(0, RankCorrelation.spearman(new double[] {1, 1, 2, 2}, new double[] {1, 2, 1, 2}), 1e-12);
  }

  @Test
  void spearman_dependsOnlyOnTheOrder() {
    assertEquals(1, RankCorrelation.spearman(new double[] {1, 2, 3, 4}, new double[] {0.1, 5, 6, 100}), 1e-12);
    assertEquals(-1, RankCorrelation.spearman(new double[] {1, 2, 3, 4}, new double[] {4, 3, 2, 1}), 1e-12);
  }

  @Test
  void spearman_ofAConstantSample_isUndefined_andBadInputIsRefused() {
    assertTrue(Double.isNaN(RankCorrelation.spearman(new double[] {2, 2, 2}, new double[] {1, 2, 3})));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RankCorrelation.spearman(new double[] {1, 2}, new double[] {1, 2, 3}));
    assertEquals("rank correlation needs two samples of the same length >= 2, got 2 and 3", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> RankCorrelation.ranks(new double[] {1, Double.NaN}));
    assertTrue(e.getMessage().startsWith("cannot rank NaN"), e.getMessage());
  }
}
