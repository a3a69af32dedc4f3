package dev.graft.retrofit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class AlphaScheduleTest {

  @Test
  void units_rampOneAfterAnother_inTheChosenOrder() {
    AlphaSchedule s = AlphaSchedule.parse("reverse", 4, 10, 40, true);
    assertArrayEquals(new double[] {0, 0, 0, 0}, s.alphas(10), 1e-12);
    assertArrayEquals(new double[] {0, 0, 0, 0.5}, s.alphas(15), 1e-12);
    assertArrayEquals(new double[] {0, 0, 0.5, 1}, s.alphas(25), 1e-12);
    assertArrayEquals(new double[] {1, 1, 1, 1}, s.alphas(50), 1e-12);
    AlphaSchedule custom = AlphaSchedule.parse("2,0,1", 3, 0, 30, true);
    assertArrayEquals(new double[] {0.5, 0, 1}, custom.alphas(15), 1e-12);
  }

  @Test
  void graduality_off_jumpsToOne() {
    assertArrayEquals(new double[] {1, 1}, AlphaSchedule.parse("forward", 2, 0, 100, false).alphas(1), 0);
  }

  @Test
  void badOrders_areExplained() {
    var e = assertThrows(IllegalArgumentException.class, () -> AlphaSchedule.parse("0,1,1,3", 4, 0, 10, true));
    assertEquals("alpha order [0, 1, 1, 3] must list every unit 0..3 exactly once", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> AlphaSchedule.parse("0,1", 4, 0, 10, true));
    assertEquals("alpha order '0,1' lists 2 units but the retrofit has 4", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> AlphaSchedule.parse("middle-out", 4, 0, 10, true));
    assertEquals("alpha order 'middle-out' must be forward, reverse or a comma-separated list of unit indices", e.getMessage());
  }
}
