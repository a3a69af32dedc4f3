package dev.graft.trainer.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class TicksTest {

  private static void assertNice(Ticks t, double lo, double hi) {
    assertTrue(t.first() <= lo + 1e-12 && t.last() >= hi - 1e-12, t + " must cover [" + lo + ", " + hi + "]");
    double mantissa = t.step() / Math.pow(10, Math.floor(Math.log10(t.step()) + 1e-9));
    assertTrue(Set.of(1L, 2L, 5L).contains(Math.round(mantissa)) && Math.abs(mantissa - Math.round(mantissa)) < 1e-9,
        "step " + t.step() + " must be 1, 2 or 5 times a power of ten");
  }

  @Test
  void covering_anyRange_coversItWithOneTwoOrFiveSteps() {
    double[][] ranges = {{0, 1}, {0.0123, 0.0871}, {-3.2, 7.9}, {1, 300}, {0, 0.6931}, {12345, 98765}, {-0.5, -0.1}};
    for (double[] r : ranges) {
      Ticks t = Ticks.covering(r[0], r[1], 5, false);
      assertNice(t, r[0], r[1]);
      assertTrue(t.count() >= 3 && t.count() <= 12, t.toString());
    }
  }

  @Test
  void covering_zeroToOne_isTenthsOrFifths() {
    Ticks t = Ticks.covering(0, 1, 5, false);
    assertEquals(0, t.first());
    assertEquals(0.2, t.step(), 1e-12);
    assertEquals(6, t.count());
    assertEquals(0.6, t.at(3), 0); // rounded: not 0.6000000000000001
    assertEquals("0.6", t.label(t.at(3), false));
    assertEquals("60%", t.label(t.at(3), true));
  }

  @Test
  void covering_integer_neverStepsBelowOne() {
    Ticks t = Ticks.covering(1, 3, 6, true);
    assertEquals(1, t.step());
    assertEquals("2", t.label(t.at(1), false));
  }

  @Test
  void covering_singleValue_padsAroundIt() {
    Ticks t = Ticks.covering(6, 6, 4, true);
    assertTrue(t.first() < 6 && t.last() > 6, t.toString());
    Ticks zero = Ticks.covering(0, 0, 4, false);
    assertTrue(zero.first() < 0 && zero.last() > 0, zero.toString());
  }

  @Test
  void label_decimalsFollowTheStep() {
    Ticks t = Ticks.covering(0.0123, 0.0871, 5, false);
    assertEquals(0.02, t.step(), 1e-12);
    assertEquals("0.04", t.label(t.at(2), false));
    assertEquals("1,000", Ticks.covering(0, 5000, 5, false).label(1000, false));
  }

  @Test
  void covering_reversedOrInfiniteRange_isRefused() {
    assertThrows(IllegalArgumentException.class, () -> Ticks.covering(2, 1, 5, false));
    assertThrows(IllegalArgumentException.class, () -> Ticks.covering(0, Double.NaN, 5, false));
  }
}
