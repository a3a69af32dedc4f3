package dev.graft.service;

import io.grpc.BindableService;
import io.grpc.ClientInterceptor;
import io.grpc.ServerInterceptor;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.binder.grpc.MetricCollectingClientInterceptor;
import io.micrometer.core.instrument.binder.grpc.MetricCollectingServerInterceptor;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.management.ManagementFactory;
import java.util.List;

/**
 * The Prometheus registry one role serves at {@code /metrics}: the role's own meters, the JVM's
 * (memory, GC, threads, class loading) and the process's (CPU, uptime, open files), and gRPC's —
 * {@link #serverInterceptor()} on every server the role runs and {@link #clientInterceptor()} on
 * every channel it opens, so calls are counted and timed per service, method and status code.
 *
 * <p>Tags stay low-cardinality: gRPC meters carry the service, method, method type and status
 * code, never a peer address. Camel-case tag keys of the gRPC binder are renamed to snake case
 * ({@code methodType} → {@code method_type}), as Prometheus label names are.
 */
public final class RoleMetrics implements AutoCloseable {

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gc = new JvmGcMetrics();
  private final MetricCollectingServerInterceptor server;
  private final MetricCollectingClientInterceptor client;

  public RoleMetrics() {
    registry.config()
        .meterFilter(MeterFilter.renameTag("grpc", "methodType", "method_type"))
        .meterFilter(MeterFilter.renameTag("grpc", "statusCode", "status_code"))
        // promtool's lint refuses a gauge named *_count and an abbreviated unit (process_cpu_time_ns_total):
        // the processor count is renamed, and CPU time is exported in seconds (process_cpu_seconds_total).
        .meterFilter(MeterFilter.denyNameStartsWith("process.cpu.time"))
        .meterFilter(new MeterFilter() {
          @Override
          public Meter.Id map(Meter.Id id) {
            return id.getName().equals("system.cpu.count") ? id.withName("system.cpu.processors") : id;
          }
        });
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      FunctionCounter.builder("process.cpu", os, o -> Math.max(0, o.getProcessCpuTime()) / 1e9).baseUnit("seconds")
          .description("CPU time the JVM process used").register(registry);
    }
    server = new MetricCollectingServerInterceptor(registry);
    client = new MetricCollectingClientInterceptor(registry);
  }

  /** The registry the role's own meters go to. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Counts and times every call a server receives; for {@link ServiceHost}. */
  public ServerInterceptor serverInterceptor() {
    return server;
  }

  /** Counts and times every call a channel makes; for the channels a role opens. */
  public ClientInterceptor clientInterceptor() {
    return client;
  }

  /** Registers every method of {@code services} at zero, so a scrape lists them before the first call. */
  void preregister(List<BindableService> services) {
    services.forEach(server::preregisterService);
  }

  /** The Prometheus text exposition of every meter. */
  public String scrape() {
    return registry.scrape();
  }

  /**
   * Stops listening for GC events. The meters stay readable (a finished role's counters can still
   * be asked for). Idempotent.
   */
  @Override
  public void close() {
    gc.close();
  }
}
