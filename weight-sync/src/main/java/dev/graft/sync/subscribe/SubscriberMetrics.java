package dev.graft.sync.subscribe;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A subscriber's counters as meters, read from its {@link SyncStats} at every scrape:
 * {@code graft_sync_rejects_total{reason}} for every {@link RejectReason} (a fixed set of tag
 * values, zero until one happens), versions installed, policies retired, bytes fetched, the fetch
 * time of installed versions (a count and a sum) and the newest version the trainer announced.
 *
 * <p>The meters hold this object weakly, as Micrometer's function meters do: whoever binds it
 * keeps a reference for as long as the meters should report.
 */
public final class SubscriberMetrics implements MeterBinder {

  private final Supplier<SyncStats> stats;

  /** @param stats a subscriber's counters, for example {@code subscriber::stats} */
  public SubscriberMetrics(Supplier<SyncStats> stats) {
    this.stats = stats;
  }

  /** The {@code reason} tag of {@code r}: its name in lower case, e.g. {@code checksum_mismatch}. */
  public static String tag(RejectReason r) {
    return r.name().toLowerCase(Locale.ROOT);
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    for (RejectReason r : RejectReason.values()) {
      FunctionCounter.builder("graft.sync.rejects", this, m -> m.stats.get().rejected(r))
          .description("Policy versions the sampler refused, by reason; it kept the version it had")
          .tag("reason", tag(r)).register(registry);
    }
    FunctionCounter.builder("graft.sync.versions.installed", this, m -> m.stats.get().versionsInstalled())
        .description("Policy versions downloaded, verified and installed").register(registry);
    FunctionCounter.builder("graft.sync.policies.retired", this, m -> m.stats.get().policiesRetired())
        .description("Policies dropped because the trainer started a new run (epoch)").register(registry);
    FunctionCounter.builder("graft.sync.fetched", this, m -> m.stats.get().totalSyncBytes())
        .description("Tensor bytes of installed versions").baseUnit("bytes").register(registry);
    FunctionTimer.builder("graft.sync.fetch", this, m -> m.stats.get().versionsInstalled(),
            m -> m.stats.get().totalSyncDuration().toNanos(), TimeUnit.NANOSECONDS)
        .description("Time from a version's first request to its swap, over installed versions")
        .register(registry);
    Gauge.builder("graft.sync.announced.version", this, m -> m.stats.get().newestAnnounced())
        .description("The newest policy version the trainer announced; -1 before any").register(registry);
  }
}
