package dev.graft.trainer.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LrScheduleTest {

  @Test
  void cosine_warmsUpLinearly_thenDecaysToMin() {
    LrSchedule s = LrSchedule.parse("cosine", 1e-3, 10, 110, 0.1);
    assertEquals(1e-4, s.lr(1), 1e-12);
    assertEquals(1e-3, s.lr(10), 1e-12);
    assertEquals(0.55e-3, s.lr(60), 1e-12); // halfway: min + (peak-min)/2
    assertEquals(1e-4, s.lr(110), 1e-12);
    assertEquals(1e-4, s.lr(500), 1e-12);
  }

  @Test
  void wsd_isFlatUntilLastFifth_thenLinear() {
    LrSchedule s = LrSchedule.parse("wsd", 2e-3, 0, 100, 0.0);
    assertEquals(2e-3, s.lr(1), 1e-12);
    assertEquals(2e-3, s.lr(80), 1e-12);
    assertEquals(1e-3, s.lr(90), 1e-12);
    assertEquals(0.0, s.lr(100), 1e-12);
  }

  @Test
  void parse_badValues_areRejectedWithTheValue() {
    var e = assertThrows(IllegalArgumentException.class, () -> LrSchedule.parse("linear", 1e-3, 0, 10, 0));
    assertEquals("unknown lr schedule 'linear' (expected cosine, wsd or constant)", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> LrSchedule.parse("cosine", 1e-3, 20, 10, 0));
    assertEquals("warmup steps (20) must be in [0, total steps=10]", e.getMessage());
  }
}
