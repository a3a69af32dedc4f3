package dev.graft.trainer.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunHistoryTest {

  private static String step(long step, double loss, double wait) {
    return "{\"step\":" + step + ",\"loss\":" + loss + ",\"mean_alpha\":1.0,\"wait_seconds_total\":" + wait + "}";
  }

  @Test
  void read_resumedRun_keepsTheLastLineOfEachStep(@TempDir Path run) throws Exception {
    Files.write(run.resolve("steps.jsonl"), List.of(step(1, 3.0, 0.5), step(2, 2.0, 0.75), step(3, 1.5, 1.0),
        step(2, 2.5, 0.25), step(3, 1.25, 0.5)));
    RunHistory h = RunHistory.read(run);
    assertEquals(List.of(1L, 2L, 3L), h.steps().stream().map(RunHistory.Step::step).toList());
    assertEquals(List.of(3.0, 2.5, 1.25), h.steps().stream().map(RunHistory.Step::loss).toList());
  }

  @Test
  void waitSeconds_perStepFromTheRunningTotal_restartingOnResume(@TempDir Path run) throws Exception {
    // the resumed attempt (from step 3 on) counts its wait from zero again
    Files.write(run.resolve("steps.jsonl"), List.of(step(1, 1, 0.5), step(2, 1, 0.75), step(3, 1, 0.125),
        step(4, 1, 0.375)));
    assertArrayEquals(new double[] {0.5, 0.25, 0.125, 0.25}, RunHistory.read(run).waitSeconds(), 1e-12);
  }

  @Test
  void read_evalLog_separatesTheBaselineAndKeepsAlphas(@TempDir Path run) throws Exception {
    Files.write(run.resolve("evals.jsonl"), List.of(
        "{\"step\":0,\"mean_alpha\":1.0,\"kl\":0.8,\"gap_recovered\":0.0,\"baseline\":true}",
        "{\"step\":5,\"mean_alpha\":0.5,\"kl\":0.1,\"gap_recovered\":0.875,\"final\":false}",
        "{\"step\":10,\"mean_alpha\":1.0,\"kl\":0.2,\"gap_recovered\":0.75,\"final\":true}",
        "{\"step\":10,\"mean_alph"));
    RunHistory h = RunHistory.read(run);
    assertEquals(0.8, h.baseline().kl(), 0);
    assertEquals(List.of(5L, 10L), h.evals().stream().map(RunHistory.Eval::step).toList());
    assertTrue(h.evals().get(0).blended());
    assertFalse(h.evals().get(1).blended());
    assertEquals(0.75, h.evals().get(1).gapRecovered(), 0);
  }

  @Test
  void onPolicy_fromLagFieldsOrRolloutVersions(@TempDir Path run) throws Exception {
    Files.write(run.resolve("steps.jsonl"), List.of(
        "{\"step\":1,\"loss\":1,\"policy_version\":0,\"oldest_rollout_version\":-1}",
        "{\"step\":2,\"loss\":1,\"policy_version\":0,\"oldest_rollout_version\":0}",
        "{\"step\":3,\"loss\":1,\"policy_version\":0,\"oldest_rollout_version\":0,\"lag_min\":1,\"lag_mean\":2.5,"
            + "\"lag_max\":3}"));
    RunHistory h = RunHistory.read(run);
    assertTrue(h.onPolicy());
    assertEquals(List.of(false, true, true), h.steps().stream().map(RunHistory.Step::onPolicy).toList());
    assertEquals(2.5, h.steps().get(2).lagMean(), 0);
    assertTrue(Double.isNaN(h.steps().get(1).lagMean()));
  }

  @Test
  void read_noLogs_isAnEmptyHistory(@TempDir Path run) {
    RunHistory h = RunHistory.read(run);
    assertTrue(h.steps().isEmpty() && h.evals().isEmpty());
    assertNull(h.baseline());
    assertFalse(h.onPolicy());
  }
}
