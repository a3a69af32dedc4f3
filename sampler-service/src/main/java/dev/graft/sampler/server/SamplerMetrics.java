package dev.graft.sampler.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;

/**
 * The sampler's metrics, in a Prometheus registry: tokens generated, requests by outcome and
 * their latency, prompts queued, slots occupied per decode step (batch occupancy), the policy
 * version served and version switches. Distributions publish histogram buckets so quantiles
 * aggregate across replicas.
 */
public final class SamplerMetrics implements GenerationEngine.Listener {

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Counter tokens;
  private final Counter switches;
  private final DistributionSummary occupancy;
  private final Timer latency;

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
    registry.gauge("graft.sampler.queue.depth", engine, GenerationEngine::queuedSequences);
    registry.gauge("graft.sampler.active.slots", engine, GenerationEngine::activeSlots);
    registry.gauge("graft.sampler.policy.version", policies, PolicyHolder::currentVersion);
  }

  /**
   * Records a finished Generate request.
   *
   * @param outcome lower-case status, e.g. {@code ok}, {@code invalid_argument}
   */
  public void requestFinished(String outcome, Duration elapsed) {
    registry.counter("graft.sampler.requests", "outcome", outcome).increment();
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

  /** The Prometheus text exposition of every metric. */
  public String scrape() {
    return registry.scrape();
  }
}
