package dev.graft.trainer.server;

import dev.graft.trainer.distill.DistillListener;
import dev.graft.trainer.distill.Evaluation;
import dev.graft.trainer.distill.StepStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * The trainer's metrics, in a Prometheus registry: the step, loss and tokens trained, the policy
 * lag of each step's rollouts and the rollouts dropped, the held-out KL, and — for every pool of
 * replicas the run depends on — whether it is waiting for it now and how long it has waited in
 * all ({@code graft_trainer_waiting{peers="samplers"}} is 1 while no sampler answers).
 */
public final class TrainerMetrics implements DistillListener {

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final AtomicLong step = new AtomicLong();
  private final AtomicLong lagMax = new AtomicLong(-1);
  private final DoubleAdder loss = new DoubleAdder();
  private final DoubleAdder heldOutKl = new DoubleAdder();
  private final DoubleAdder heldOutAlpha = new DoubleAdder();
  private final Counter steps;
  private final Map<String, AtomicLong> waiting = new ConcurrentHashMap<>();
  private final Map<String, Counter> waits = new ConcurrentHashMap<>();
  private final Map<String, Double> waitedThisTime = new ConcurrentHashMap<>();
  private final Map<String, Counter> waitedSeconds = new ConcurrentHashMap<>();
  private final AtomicLong stale = new AtomicLong();
  private final AtomicLong foreign = new AtomicLong();
  private final AtomicLong fallback = new AtomicLong();

  public TrainerMetrics() {
    registry.gauge("graft.trainer.step", step);
    registry.gauge("graft.trainer.loss", loss, DoubleAdder::sum);
    registry.gauge("graft.trainer.heldout.kl", heldOutKl, DoubleAdder::sum);
    // Below 1, the last evaluation scored a blended (mid-ramp) student, not the one that ships.
    registry.gauge("graft.trainer.heldout.mean.alpha", heldOutAlpha, DoubleAdder::sum);
    registry.gauge("graft.trainer.rollout.lag.max", lagMax);
    registry.gauge("graft.trainer.rollouts.stale.dropped", stale);
    registry.gauge("graft.trainer.rollouts.foreign.dropped", foreign);
    registry.gauge("graft.trainer.fallback.rows", fallback);
    steps = Counter.builder("graft.trainer.steps").description("Training steps completed").register(registry);
    for (String peers : new String[] {"samplers", "teachers"}) {
      pool(peers);
    }
  }

  private void pool(String peers) {
    waiting.computeIfAbsent(peers, p -> registry.gauge("graft.trainer.waiting",
        io.micrometer.core.instrument.Tags.of("peers", p), new AtomicLong()));
    waits.computeIfAbsent(peers, p -> Counter.builder("graft.trainer.waits")
        .description("Times the run started waiting for a pool of replicas").tag("peers", p).register(registry));
    waitedSeconds.computeIfAbsent(peers, p -> Counter.builder("graft.trainer.waited.seconds")
        .description("Seconds the run waited for a pool of replicas").tag("peers", p).register(registry));
  }

  @Override
  public void onStep(StepStats s) {
    step.set(s.step());
    loss.reset();
    loss.add(s.loss());
    steps.increment();
    if (s.lag() != null) {
      lagMax.set(s.lag().max());
    }
    stale.set(s.staleRolloutsDropped());
    foreign.set(s.foreignRolloutsDropped());
    fallback.set(s.fallbackRows());
  }

  @Override
  public void onEval(Evaluation e) {
    heldOutKl.reset();
    heldOutKl.add(e.result().overall().meanKl());
    heldOutAlpha.reset();
    heldOutAlpha.add(e.meanAlpha());
  }

  @Override
  public void onWaiting(String peers, double seconds, String why) {
    pool(peers);
    if (waiting.get(peers).getAndSet(1) == 0) {
      waits.get(peers).increment();
    }
    Double before = waitedThisTime.put(peers, seconds);
    waitedSeconds.get(peers).increment(Math.max(0, seconds - (before == null ? 0 : before)));
  }

  @Override
  public void onResumed(String peers, double seconds) {
    pool(peers);
    waiting.get(peers).set(0);
    Double before = waitedThisTime.remove(peers);
    waitedSeconds.get(peers).increment(Math.max(0, seconds - (before == null ? 0 : before)));
  }

  /** The Prometheus text exposition. */
  public String scrape() {
    return registry.scrape();
  }
}
