package dev.graft.kube.submit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.kube.submit.SamplerAutoscaler.Action;
import dev.graft.kube.submit.SamplerAutoscaler.Decision;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The autoscaler's decisions on a fake clock, a fake waiting signal and an in-memory scaler. */
class SamplerAutoscalerTest {

  /** A clock a test moves by hand. */
  static final class FakeClock extends Clock {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  /** Replicas in memory; records every change; can refuse like an API server without the permission. */
  static class FakeScaler implements ReplicaScaler {
    int replicas;
    boolean forbidden;
    int reads;
    final List<Integer> changes = new ArrayList<>();

    FakeScaler(int replicas) {
      this.replicas = replicas;
    }

    @Override
    public String target() {
      return "deployment ns/run-sampler";
    }

    @Override
    public int replicas() {
      reads++;
      if (forbidden) {
        throw new Forbidden("may not read the scale of deployment ns/run-sampler (403 Forbidden: no)", null);
      }
      return replicas;
    }

    @Override
    public void scale(int n) {
      replicas = n;
      changes.add(n);
    }
  }

  private final FakeClock clock = new FakeClock();
  private final double[] waited = {0};
  private final boolean[] teachersMissing = {false};
  private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
  private final AutoscalePolicy policy = new AutoscalePolicy(2, 8, 0.2, Duration.ofSeconds(60),
      Duration.ofSeconds(120));

  private SamplerAutoscaler autoscaler(FakeScaler scaler) {
    return new SamplerAutoscaler(policy, () -> waited[0], () -> teachersMissing[0], scaler, clock,
        new PrintStream(printed, true, StandardCharsets.UTF_8));
  }

  /** Advances the clock by {@code seconds}, of which the trainer waited {@code waitedSeconds}, and ticks. */
  private static Decision after(SamplerAutoscaler a, FakeClock clock, double[] waited, int seconds,
      double waitedSeconds) {
    clock.advance(Duration.ofSeconds(seconds));
    waited[0] += waitedSeconds;
    return a.tick();
  }

  @Test
  void tick_beforeAWholeWindow_onlyWatches() {
    FakeScaler scaler = new FakeScaler(2);
    SamplerAutoscaler a = autoscaler(scaler);
    assertEquals(Action.WARMING_UP, a.tick().action());
    assertEquals(Action.WARMING_UP, after(a, clock, waited, 30, 30).action());
    assertEquals(List.of(), scaler.changes);
  }

  @Test
  void tick_waitingAboveThreshold_scalesToWhatWouldHaveKeptUp() {
    FakeScaler scaler = new FakeScaler(2);
    SamplerAutoscaler a = autoscaler(scaler);
    a.tick();
    Decision d = after(a, clock, waited, 60, 30); // waited half of the window
    assertEquals(new Decision(Action.SCALED, 0.5, 2, 4), d);
    assertEquals(List.of(4), scaler.changes);
    assertTrue(printed.toString().contains("deployment ns/run-sampler 2 -> 4 replicas (trainer waited 50% of"
        + " the last 60 s; threshold 20%, bounds 2..8)"), printed.toString());
  }

  @Test
  void tick_waitingBelowThreshold_holds() {
    FakeScaler scaler = new FakeScaler(3);
    SamplerAutoscaler a = autoscaler(scaler);
    a.tick();
    Decision d = after(a, clock, waited, 60, 6);
    assertEquals(Action.HOLD, d.action());
    assertEquals(0.1, d.fraction(), 1e-9);
    assertEquals(List.of(), scaler.changes);
  }

  @Test
  void tick_onlyTheLastWindowCounts() {
    FakeScaler scaler = new FakeScaler(2);
    SamplerAutoscaler a = autoscaler(scaler);
    a.tick();
    after(a, clock, waited, 30, 30); // an early stall...
    for (int i = 0; i < 4; i++) {
      after(a, clock, waited, 30, 0); // ...then none for two minutes
    }
    Decision d = a.tick();
    assertEquals(Action.HOLD, d.action());
    assertEquals(0.0, d.fraction(), 1e-9);
  }

  @Test
  void tick_afterAChange_waitsForTheCooldownAndStopsAtMax() {
    FakeScaler scaler = new FakeScaler(2);
    SamplerAutoscaler a = autoscaler(scaler);
    a.tick();
    assertEquals(Action.SCALED, after(a, clock, waited, 60, 54).action()); // 90%: 2 / 0.1 = 20, capped at 8
    assertEquals(List.of(8), scaler.changes);
    assertEquals(Action.WARMING_UP, a.tick().action(), "a change starts a new window");
    assertEquals(Action.HOLD, after(a, clock, waited, 60, 60).action(), "at max: nothing more to do");
    assertEquals(List.of(8), scaler.changes);
  }

  @Test
  void tick_withinCooldown_holdsEvenWhenWaiting() {
    FakeScaler scaler = new FakeScaler(2);
    SamplerAutoscaler a = autoscaler(scaler);
    a.tick();
    assertEquals(new Decision(Action.SCALED, 0.25, 2, 3), after(a, clock, waited, 60, 15));
    a.tick();
    Decision d = after(a, clock, waited, 60, 30);
    assertEquals(Action.COOLDOWN, d.action(), "60 s after a change, the cooldown is 120 s");
    assertEquals(Action.SCALED, after(a, clock, waited, 60, 30).action(), "120 s after the change");
    assertEquals(List.of(3, 6), scaler.changes);
  }

  @Test
  void tick_belowMin_raisesToMinAtOnce() {
    FakeScaler scaler = new FakeScaler(1);
    assertEquals(new Decision(Action.SCALED, Double.NaN, 1, 2), autoscaler(scaler).tick());
  }

  @Test
  void tick_whileTeachersAreMissing_doesNotAddSamplers() {
    FakeScaler scaler = new FakeScaler(2);
    SamplerAutoscaler a = autoscaler(scaler);
    a.tick();
    teachersMissing[0] = true;
    assertEquals(Action.TEACHERS_MISSING, after(a, clock, waited, 60, 60).action());
    assertEquals(List.of(), scaler.changes);
  }

  @Test
  void tick_forbidden_disablesItselfAndSaysSoOnce() {
    FakeScaler scaler = new FakeScaler(2);
    scaler.forbidden = true;
    SamplerAutoscaler a = autoscaler(scaler);
    assertEquals(Action.DISABLED, a.tick().action());
    assertEquals(Action.DISABLED, after(a, clock, waited, 60, 60).action());
    assertEquals(Action.DISABLED, after(a, clock, waited, 60, 60).action());
    assertEquals(1, scaler.reads, "no API calls once disabled");
    assertTrue(a.disabled());
    String out = printed.toString();
    assertEquals(1, out.lines().count(), out);
    assertTrue(out.startsWith("sampler autoscaler disabled: the trainer may not read the scale of deployment"
        + " ns/run-sampler (403 Forbidden: no). Grant its service account get and update on deployments/scale"), out);
  }

  @Test
  void tick_otherFailures_areRetriedAndReportedOncePerMessage() {
    FakeScaler scaler = new FakeScaler(2) {
      @Override
      public int replicas() {
        throw new IllegalStateException("cannot read the scale of deployment ns/run-sampler (HTTP 500): boom");
      }
    };
    SamplerAutoscaler a = autoscaler(scaler);
    assertEquals(Action.FAILED, a.tick().action());
    assertEquals(Action.FAILED, after(a, clock, waited, 10, 0).action());
    assertEquals(List.of("sampler autoscaler: cannot read the scale of deployment ns/run-sampler (HTTP 500): boom"
        + " (retrying)"), printed.toString().lines().toList());
  }

  @Test
  void policy_rejectsImpossibleSettingsNamingTheFlag() {
    assertEquals("--autoscale-min (0) must be >= 1 and --autoscale-max (4) >= --autoscale-min",
        assertThrows(IllegalArgumentException.class, () -> new AutoscalePolicy(0, 4, 0.2, Duration.ofSeconds(60),
            Duration.ZERO)).getMessage());
    assertEquals("--autoscale-min (5) must be >= 1 and --autoscale-max (4) >= --autoscale-min",
        assertThrows(IllegalArgumentException.class, () -> new AutoscalePolicy(5, 4, 0.2, Duration.ofSeconds(60),
            Duration.ZERO)).getMessage());
    assertEquals("--autoscale-threshold (1.0) must be in (0, 1)",
        assertThrows(IllegalArgumentException.class, () -> new AutoscalePolicy(1, 4, 1.0, Duration.ofSeconds(60),
            Duration.ZERO)).getMessage());
    assertEquals("--autoscale-window-s (0) must be >= 1",
        assertThrows(IllegalArgumentException.class, () -> new AutoscalePolicy(1, 4, 0.2, Duration.ZERO,
            Duration.ZERO)).getMessage());
  }

  @Test
  void policy_targetIsBounded() {
    assertEquals(2, policy.target(1, 0));
    assertEquals(8, policy.target(9, 0.9));
    assertEquals(3, policy.target(2, 0.21), "at least one more");
    assertEquals(8, policy.target(4, 0.99));
    assertEquals(5, policy.target(5, 0.2), "at the threshold: hold");
  }
}
