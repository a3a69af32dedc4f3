package dev.graft.kube.submit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.trainer.distill.StepStats;
import org.junit.jupiter.api.Test;

class TrainerWaitingTest {

  private static StepStats step(long step, double waited) {
    return new StepStats(step, 1.0, 1e-3, 1.0, 100, 1.0, waited, 0);
  }

  @Test
  void waitedSeconds_followsTheStepsAndACurrentWaitForSamplers() {
    TrainerWaiting w = new TrainerWaiting();
    assertEquals(0, w.waitedSeconds());
    w.onStep(step(1, 2.5));
    assertEquals(2.5, w.waitedSeconds(), 1e-9);
    w.onWaiting("samplers", 4, "UNAVAILABLE");
    assertEquals(6.5, w.waitedSeconds(), 1e-9, "a wait for samplers counts while it lasts");
    w.onResumed("samplers", 5);
    w.onStep(step(2, 8.0)); // the step's wait includes the 5 s
    assertEquals(8.0, w.waitedSeconds(), 1e-9);
  }

  @Test
  void waitedSeconds_leavesOutWaitsForTeachers() {
    TrainerWaiting w = new TrainerWaiting();
    w.onStep(step(1, 1.0));
    w.onWaiting("teachers", 30, "UNAVAILABLE");
    assertTrue(w.waitingForTeachers());
    w.onResumed("teachers", 40);
    assertFalse(w.waitingForTeachers());
    w.onStep(step(2, 42.0));
    assertEquals(2.0, w.waitedSeconds(), 1e-9);
  }

  @Test
  void waitedSeconds_neverDecreases() {
    TrainerWaiting w = new TrainerWaiting();
    w.onStep(step(1, 3.0));
    w.onWaiting("samplers", 10, "UNAVAILABLE");
    assertEquals(13.0, w.waitedSeconds(), 1e-9);
    w.onStep(step(2, 11.0)); // the step measured less than the episode's own clock
    assertEquals(13.0, w.waitedSeconds(), 1e-9);
  }
}
