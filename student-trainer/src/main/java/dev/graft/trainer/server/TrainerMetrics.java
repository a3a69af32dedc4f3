package dev.graft.trainer.server;

import dev.graft.service.RoleMetrics;
import dev.graft.trainer.distill.DistillListener;
import dev.graft.trainer.distill.Evaluation;
import dev.graft.trainer.distill.StepStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.function.LongSupplier;

/**
 * The trainer's metrics, in its role's Prometheus registry ({@link RoleMetrics}: JVM, process and
 * gRPC meters besides): the step, the training loss (the run's divergence to the teacher, forward
 * KL by default) and the held-out KL, tokens trained, the policy version published and the time
 * each publish took, the policy lag of each step's rollouts and the rollouts dropped, the time the
 * training thread waited for its batches (a counter and the last step's fraction), and — for every
 * pool of replicas the run depends on — whether it is waiting for it now and how long it has
 * waited in all ({@code graft_trainer_waiting{peers="samplers"}} is 1 while no sampler answers).
 */
public final class TrainerMetrics implements DistillListener, AutoCloseable {

  /** The pools of replicas a run waits for: the values of the {@code peers} tag ("other" for any else). */
  public static final List<String> POOLS = List.of("samplers", "teachers", "teacher-samplers", "other");

  private final RoleMetrics role = new RoleMetrics();
  private final PrometheusMeterRegistry registry = role.registry();
  private final LongSupplier nanoClock;
  private final AtomicLong step = new AtomicLong();
  private final AtomicReference<Double> loss = new AtomicReference<>(Double.NaN);
  private final AtomicReference<Double> heldOutKl = new AtomicReference<>(Double.NaN);
  private final AtomicReference<Double> heldOutAlpha = new AtomicReference<>(Double.NaN);
  private final AtomicReference<Double> lagMin = new AtomicReference<>(Double.NaN);
  private final AtomicReference<Double> lagMean = new AtomicReference<>(Double.NaN);
  private final AtomicReference<Double> lagMax = new AtomicReference<>(Double.NaN);
  private final AtomicReference<Double> waitingFraction = new AtomicReference<>(Double.NaN);
  private final AtomicLong policyVersion = new AtomicLong(-1);
  private final AtomicLong stale = new AtomicLong();
  private final AtomicLong foreign = new AtomicLong();
  private final AtomicLong fallback = new AtomicLong();
  private final DoubleAdder batchWaitSeconds = new DoubleAdder();
  private final Counter steps;
  private final Counter tokens;
  private final Timer publish;
  private final Map<String, AtomicLong> waiting = new ConcurrentHashMap<>();
  private final Map<String, Counter> waits = new ConcurrentHashMap<>();
  private final Map<String, Double> waitedThisTime = new ConcurrentHashMap<>();
  private final Map<String, Counter> waitedSeconds = new ConcurrentHashMap<>();
  private double lastWaitSeconds; // the run's cumulative wait at the last step; training thread only
  private long lastStepNanos = Long.MIN_VALUE; // training thread only

  /** Metrics on the system's monotonic clock. */
  public TrainerMetrics() {
    this(System::nanoTime);
  }

  /** @param nanoClock monotonic nanoseconds, for the waiting fraction of a step */
  public TrainerMetrics(LongSupplier nanoClock) {
    this.nanoClock = nanoClock;
    Gauge.builder("graft.trainer.step", step, AtomicLong::get).description("The last step completed")
        .register(registry);
    gauge("graft.trainer.loss", loss, "Training loss of the last step: the run's divergence to the teacher"
        + " per token (forward KL by default)");
    gauge("graft.trainer.heldout.kl", heldOutKl, "Mean KL to the teacher on held-out text at the last evaluation");
    // Below 1, the last evaluation scored a blended (mid-ramp) student, not the one that ships.
    gauge("graft.trainer.heldout.mean.alpha", heldOutAlpha, "Mean alpha of the student the last evaluation scored");
    gauge("graft.trainer.rollout.lag.min", lagMin, "Smallest policy lag (steps) of the last step's rollouts");
    gauge("graft.trainer.rollout.lag.mean", lagMean, "Mean policy lag (steps) of the last step's rollouts");
    gauge("graft.trainer.rollout.lag.max", lagMax, "Largest policy lag (steps) of the last step's rollouts");
    gauge("graft.trainer.waiting.fraction", waitingFraction,
        "Share of the last step's wall time the training thread waited for its batch");
    Gauge.builder("graft.trainer.policy.version", policyVersion, AtomicLong::get)
        .description("The newest policy version published for samplers; -1 before the first").register(registry);
    counter("graft.trainer.rollouts.stale.dropped", stale, "Rollouts discarded for exceeding the policy lag");
    counter("graft.trainer.rollouts.foreign.dropped", foreign,
        "Rollouts discarded for coming from another run or an unpublished version");
    counter("graft.trainer.fallback.rows", fallback,
        "On-policy rows trained on corpus text because samplers were unavailable");
    FunctionCounter.builder("graft.trainer.batch.wait", batchWaitSeconds, DoubleAdder::sum)
        .description("Seconds the training thread waited for batches (targets and rollouts)")
        .baseUnit("seconds").register(registry);
    steps = Counter.builder("graft.trainer.steps").description("Training steps completed").register(registry);
    tokens = Counter.builder("graft.trainer.tokens.trained")
        .description("Tokens (target positions) trained on").register(registry);
    publish = Timer.builder("graft.trainer.publish").description("Time to publish a policy version:"
        + " copy, pack and checksum the student's tensors").register(registry);
    POOLS.forEach(this::pool);
  }

  private void gauge(String name, AtomicReference<Double> value, String description) {
    Gauge.builder(name, value, AtomicReference::get).description(description).register(registry);
  }

  private void counter(String name, AtomicLong value, String description) {
    FunctionCounter.builder(name, value, AtomicLong::get).description(description).register(registry);
  }

  /** The {@code peers} tag of a pool's name, its meters registered: one of {@link #POOLS}. */
  private String pool(String name) {
    String tag = POOLS.contains(name) ? name : "other";
    waiting.computeIfAbsent(tag, p -> {
      AtomicLong now = new AtomicLong();
      Gauge.builder("graft.trainer.waiting", now, AtomicLong::get)
          .description("1 while the run waits for a pool of replicas, else 0").tags(Tags.of("peers", p))
          .register(registry);
      return now;
    });
    waits.computeIfAbsent(tag, p -> Counter.builder("graft.trainer.waits")
        .description("Times the run started waiting for a pool of replicas").tag("peers", p).register(registry));
    waitedSeconds.computeIfAbsent(tag, p -> Counter.builder("graft.trainer.waited")
        .description("Seconds the run waited for a pool of replicas").baseUnit("seconds").tag("peers", p)
        .register(registry));
    return tag;
  }

  @Override
  public void onStart(long fromStep, long totalSteps) {
    step.set(fromStep);
    lastStepNanos = nanoClock.getAsLong();
    lastWaitSeconds = 0;
  }

  @Override
  public void onStep(StepStats s) {
    step.set(s.step());
    loss.set(s.loss());
    steps.increment();
    tokens.increment(s.tokens());
    if (s.lag() != null) {
      lagMin.set((double) s.lag().min());
      lagMean.set(s.lag().mean());
      lagMax.set((double) s.lag().max());
    }
    if (s.policyVersion() >= 0) {
      policyVersion.set(s.policyVersion());
    }
    stale.set(s.staleRolloutsDropped());
    foreign.set(s.foreignRolloutsDropped());
    fallback.set(s.fallbackRows());
    // The run's wait is cumulative since it (re)started; a smaller value means a new pipeline.
    double waited = s.teacherWaitSeconds() >= lastWaitSeconds
        ? s.teacherWaitSeconds() - lastWaitSeconds : s.teacherWaitSeconds();
    lastWaitSeconds = s.teacherWaitSeconds();
    batchWaitSeconds.add(waited);
    long now = nanoClock.getAsLong();
    if (lastStepNanos != Long.MIN_VALUE && now > lastStepNanos) {
      waitingFraction.set(Math.min(1, waited / ((now - lastStepNanos) / 1e9)));
    }
    lastStepNanos = now;
  }

  @Override
  public void onEval(Evaluation e) {
    heldOutKl.set(e.result().overall().meanKl());
    heldOutAlpha.set(e.meanAlpha());
  }

  @Override
  public void onPublished(long version, double seconds) {
    policyVersion.set(version);
    publish.record(Duration.ofNanos(Math.round(seconds * 1e9)));
  }

  @Override
  public void onWaiting(String name, double seconds, String why) {
    String peers = pool(name);
    if (waiting.get(peers).getAndSet(1) == 0) {
      waits.get(peers).increment();
    }
    Double before = waitedThisTime.put(peers, seconds);
    waitedSeconds.get(peers).increment(Math.max(0, seconds - (before == null ? 0 : before)));
  }

  @Override
  public void onResumed(String name, double seconds) {
    String peers = pool(name);
    waiting.get(peers).set(0);
    Double before = waitedThisTime.remove(peers);
    waitedSeconds.get(peers).increment(Math.max(0, seconds - (before == null ? 0 : before)));
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The role's registry with its gRPC interceptors, for the server, its channels and {@code /metrics}. */
  public RoleMetrics role() {
    return role;
  }

  /** The Prometheus text exposition. */
  public String scrape() {
    return registry.scrape();
  }

  @Override
  public void close() {
    role.close();
  }
}
