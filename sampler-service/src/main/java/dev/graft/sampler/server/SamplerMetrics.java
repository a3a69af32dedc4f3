package dev.graft.sampler.server;

import dev.graft.service.RoleMetrics;
import dev.graft.sync.subscribe.SubscriberMetrics;
import dev.graft.sync.subscribe.WeightSubscriber;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;

/**
 * The sampler's metrics, in its role's Prometheus registry ({@link RoleMetrics}: JVM, process and
 * gRPC meters besides): tokens generated, requests by outcome and their latency, prompts queued,
 * slots occupied per decode step (batch occupancy), the policy version served and version
 * switches, and — once {@link #watch(WeightSubscriber)} — weight sync's counters. Distributions
 * publish histogram buckets so quantiles aggregate across replicas.
 */
public final class SamplerMetrics implements GenerationEngine.Listener, AutoCloseable {

  private final RoleMetrics role = new RoleMetrics();
  private final PrometheusMeterRegistry registry = role.registry();
  private final Counter tokens;
  private final Counter switches;
  private final DistributionSummary occupancy;
  private final Timer latency;
  private volatile SubscriberMetrics sync;

  public SamplerMetrics() {
    tokens = Counter.builder("graft.sampler.tokens.generated")
        .description("Tokens generated, prefill first tokens included").register(registry);
    switches = Counter.builder("graft.sampler.policy.switches")
        .description("Times the engine switched to a newer policy version").register(registry);
    occupancy = DistributionSummary.builder("graft.sampler.batch.occupancy")
        .description("Occupied slots per batched decode step").publishPercentileHistogram()
        .register(registry);
    latency = Timer.builder("graft.sampler.request.latency")
        .description("Generate request latency, arrival to last rollout")
        .publishPercentileHistogram().register(registry);
  }

  /** Exposes the engine's queue depth and occupied slots and the holder's version as gauges. */
  public void watch(GenerationEngine engine, PolicyHolder policies) {
    Gauge.builder("graft.sampler.queue.depth", engine, GenerationEngine::queuedSequences)
        .description("Prompts waiting for a decode slot").register(registry);
    Gauge.builder("graft.sampler.active.slots", engine, GenerationEngine::activeSlots)
        .description("Decode slots holding a sequence").register(registry);
    Gauge.builder("graft.sampler.policy.version", policies, PolicyHolder::currentVersion)
        .description("The policy version generating now; -1 before the first").register(registry);
  }

  /** Exports {@code subscriber}'s weight-sync counters ({@link SubscriberMetrics}). */
  public void watch(WeightSubscriber subscriber) {
    SubscriberMetrics sync = new SubscriberMetrics(subscriber::stats);
    sync.bindTo(registry);
    this.sync = sync; // the meters read it through a weak reference
  }

  /**
   * Records a finished Generate request.
   *
   * @param outcome lower-case status, e.g. {@code ok}, {@code invalid_argument}
   */
  public void requestFinished(String outcome, Duration elapsed) {
    Counter.builder("graft.sampler.requests").description("Generate requests finished, by outcome (status code)")
        .tag("outcome", outcome).register(registry).increment();
    latency.record(elapsed);
  }

  /** Requests that ended with {@code outcome} so far. */
  public double requests(String outcome) {
    Counter c = registry.find("graft.sampler.requests").tag("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }

  @Override
  public void onTokens(int count) {
    tokens.increment(count);
  }

  @Override
  public void onStep(int activeSlots) {
    occupancy.record(activeSlots);
  }

  @Override
  public void onPolicySwitch(long version) {
    switches.increment();
  }

  public double tokensGenerated() {
    return tokens.count();
  }

  /** Decode steps run, and the distribution of occupied slots per step. */
  public DistributionSummary batchOccupancy() {
    return occupancy;
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The role's registry with its gRPC interceptors, for the server, its channels and {@code /metrics}. */
  public RoleMetrics role() {
    return role;
  }

  @Override
  public void close() {
    role.close();
  }

  /** The Prometheus text exposition of every metric. */
  public String scrape() {
    return registry.scrape();
  }
}
