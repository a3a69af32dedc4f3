package dev.graft.trainer.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.trainer.distill.RolloutLag;
import dev.graft.trainer.distill.StepStats;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TrainerMetricsTest {

  private final AtomicLong nanos = new AtomicLong();
  private final TrainerMetrics metrics = new TrainerMetrics(nanos::get);
  private final PrometheusMeterRegistry r = metrics.registry();

  @AfterEach
  void close() {
    metrics.close();
  }

  private static StepStats step(long step, double waitSoFar, long tokens, RolloutLag lag, long stale) {
    return new StepStats(step, 0.5, 1e-3, 1, 100, 1, waitSoFar, 2, lag, stale, 0, 0, tokens);
  }

  @Test
  void steps_countTokensAndWaits_andTheWaitingFractionIsTheLastStepsShare() {
    metrics.onStart(0, 10);
    nanos.addAndGet(2_000_000_000L);
    metrics.onStep(step(1, 0.5, 512, null, 0));
    assertEquals(0.25, r.get("graft.trainer.waiting.fraction").gauge().value(), 1e-12, "0.5 s of 2 s");
    nanos.addAndGet(1_000_000_000L);
    metrics.onStep(step(2, 0.6, 256, new RolloutLag(1, 1.5, 2), 3));
    assertEquals(0.1, r.get("graft.trainer.waiting.fraction").gauge().value(), 1e-9, "0.1 s of 1 s");
    assertEquals(0.6, r.get("graft.trainer.batch.wait").functionCounter().count(), 1e-12);
    assertEquals(768, r.get("graft.trainer.tokens.trained").counter().count());
    assertEquals(2, r.get("graft.trainer.steps").counter().count());
    assertEquals(1, r.get("graft.trainer.rollout.lag.min").gauge().value());
    assertEquals(1.5, r.get("graft.trainer.rollout.lag.mean").gauge().value());
    assertEquals(2, r.get("graft.trainer.rollout.lag.max").gauge().value());
    assertEquals(3, r.get("graft.trainer.rollouts.stale.dropped").functionCounter().count());
  }

  @Test
  void aRestartedPipeline_startsItsWaitFromZero_withoutANegativeIncrement() {
    metrics.onStart(0, 10);
    metrics.onStep(step(1, 4, 1, null, 0));
    metrics.onStart(1, 10); // the run resumed: its pipeline counts from zero again
    metrics.onStep(step(2, 1, 1, null, 0));
    assertEquals(5, r.get("graft.trainer.batch.wait").functionCounter().count(), 1e-12);
  }

  @Test
  void publishing_setsThePolicyVersion_andIsTimed() {
    assertEquals(-1, r.get("graft.trainer.policy.version").gauge().value(), "before the first publish");
    metrics.onPublished(0, 0.25);
    metrics.onPublished(10, 0.75);
    assertEquals(10, r.get("graft.trainer.policy.version").gauge().value());
    assertEquals(2, r.get("graft.trainer.publish").timer().count());
    assertEquals(1.0, r.get("graft.trainer.publish").timer().totalTime(TimeUnit.SECONDS), 1e-9);
  }

  @Test
  void waitingForAnUnknownPool_isCountedUnderOther_soThePeersTagStaysAFixedSet() {
    metrics.onWaiting("samplers", 3, "UNAVAILABLE");
    metrics.onWaiting("samplers", 5, "UNAVAILABLE");
    metrics.onResumed("samplers", 6);
    metrics.onWaiting("10.0.0.7:50052", 1, "UNAVAILABLE");
    assertEquals(1, r.get("graft.trainer.waits").tag("peers", "samplers").counter().count());
    assertEquals(6, r.get("graft.trainer.waited").tag("peers", "samplers").counter().count(), 1e-12);
    assertEquals(0, r.get("graft.trainer.waiting").tag("peers", "samplers").gauge().value());
    assertEquals(1, r.get("graft.trainer.waiting").tag("peers", "other").gauge().value());
    assertTrue(r.find("graft.trainer.waiting").gauges().stream()
        .allMatch(g -> TrainerMetrics.POOLS.contains(g.getId().getTag("peers"))));
  }
}
