package dev.graft.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class VocabBudgetTest {

  @Test
  void positions_dividesTheBudgetByRowsOfTheVocabulary() {
    VocabBudget b = VocabBudget.ofMegabytes(1, "--vocab-budget-mb");
    assertEquals(1 << 20, b.bytes());
    assertEquals(64, b.positions(4096, 1)); // 1 MiB / (4096 * 4 B)
    assertEquals(16, b.positions(4096, 4));
    assertEquals(2, b.positions(131_072, 1));
  }

  @Test
  void positions_budgetBelowOneRow_isOnePosition() {
    assertEquals(1, new VocabBudget(100).positions(4096, 3));
  }

  @ParameterizedTest
  @ValueSource(longs = {0, -5, VocabBudget.MAX_MEGABYTES + 1, Long.MAX_VALUE})
  void ofMegabytes_outOfRange_namesTheSettingAndTheRange(long mb) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> VocabBudget.ofMegabytes(mb, "memory.vocab_budget_mb"));
    assertEquals("memory.vocab_budget_mb (" + mb + ") must be in [1, 1048576] MiB: the memory that"
        + " (positions x vocabulary) buffers may take at once", e.getMessage());
  }

  @Test
  void constructor_nonPositiveBytes_isRefused() {
    assertThrows(IllegalArgumentException.class, () -> new VocabBudget(0));
  }

  @Test
  void default_is256MiB_theRunConfigsDefault() {
    assertEquals(256L << 20, VocabBudget.DEFAULT.bytes());
    assertEquals("256 MiB", VocabBudget.DEFAULT.toString());
  }

  @Test
  void forMachine_isBetween64MiBAnd1GiB() {
    long mb = VocabBudget.forMachine().megabytes();
    assertTrue(mb >= 64 && mb <= 1024, "got " + mb);
  }
}
