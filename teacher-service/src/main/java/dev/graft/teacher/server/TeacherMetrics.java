package dev.graft.teacher.server;

import dev.graft.service.RoleMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;

/**
 * The teacher's metrics, in its role's Prometheus registry ({@link RoleMetrics}: JVM, process and
 * gRPC meters besides): requests by outcome, tokens scored, requests in flight and queued, the
 * size of every shared forward pass (requests, sequences, tokens) and request latency, the
 * distributions with histogram buckets so that quantiles can be aggregated across replicas.
 */
public final class TeacherMetrics implements ScoreBatcher.Listener, AutoCloseable {

  private final RoleMetrics role = new RoleMetrics();
  private final PrometheusMeterRegistry registry = role.registry();
  private final Counter tokensScored;
  private final DistributionSummary batchRequests;
  private final DistributionSummary batchSequences;
  private final DistributionSummary batchTokens;
  private final DistributionSummary batchPaddedTokens;
  private final Timer latency;

  public TeacherMetrics() {
    tokensScored = Counter.builder("graft.teacher.tokens.scored")
        .description("Tokens (positions) scored and returned").register(registry);
    batchRequests = summary("graft.teacher.batch.requests", "Requests per forward pass");
    batchSequences = summary("graft.teacher.batch.sequences", "Sequences per forward pass");
    batchTokens = summary("graft.teacher.batch.tokens", "Real tokens per forward pass");
    batchPaddedTokens = summary("graft.teacher.batch.padded.tokens",
        "Tokens per forward pass including right padding");
    latency = Timer.builder("graft.teacher.request.latency")
        .description("Score request latency, arrival to last chunk")
        .publishPercentileHistogram().register(registry);
  }

  private DistributionSummary summary(String name, String description) {
    return DistributionSummary.builder(name).description(description)
        .publishPercentileHistogram().register(registry);
  }

  /** Exposes {@code batcher}'s reserved tokens, requests in flight and queued requests as gauges. */
  public void watch(ScoreBatcher batcher) {
    Gauge.builder("graft.teacher.inflight.tokens", batcher, ScoreBatcher::reservedTokens)
        .description("Tokens reserved by admitted requests not yet finished").register(registry);
    Gauge.builder("graft.teacher.inflight.requests", batcher, ScoreBatcher::inFlightRequests)
        .description("Requests admitted and not yet finished: queued, scoring or streaming").register(registry);
    Gauge.builder("graft.teacher.queue.depth", batcher, ScoreBatcher::queuedRequests)
        .description("Requests waiting for a forward pass").register(registry);
  }

  /**
   * Records a finished score request.
   *
   * @param outcome lower-case status, e.g. {@code ok}, {@code invalid_argument}
   */
  public void requestFinished(String outcome, Duration elapsed) {
    Counter.builder("graft.teacher.requests").description("Score requests finished, by outcome (status code)")
        .tag("outcome", outcome).register(registry).increment();
    latency.record(elapsed);
  }

  /** Records tokens whose scores were returned. */
  public void tokensScored(long tokens) {
    tokensScored.increment(tokens);
  }

  /** Requests that ended with {@code outcome} so far. */
  public double requests(String outcome) {
    Counter c = registry.find("graft.teacher.requests").tag("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }

  @Override
  public void onBatch(ScoreBatcher.BatchStats stats) {
    batchRequests.record(stats.requests());
    batchSequences.record(stats.sequences());
    batchTokens.record(stats.tokens());
    batchPaddedTokens.record(stats.paddedTokens());
  }

  /** Forward passes run, and the distribution of requests per pass. */
  public DistributionSummary batchRequests() {
    return batchRequests;
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The role's registry with its gRPC interceptors, for the server and its {@code /metrics}. */
  public RoleMetrics role() {
    return role;
  }

  /** The Prometheus text exposition of every metric. */
  public String scrape() {
    return registry.scrape();
  }

  @Override
  public void close() {
    role.close();
  }
}
