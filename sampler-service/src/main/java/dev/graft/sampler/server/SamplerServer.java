package dev.graft.sampler.server;

import dev.graft.proto.v1.SamplerServiceGrpc;
import dev.graft.service.ServiceHost;
import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * Lifecycle of a sampler replica: serves {@code graft.v1.SamplerService} from a
 * {@link GenerationEngine} over a {@link PolicyHolder}, with gRPC health, server reflection and
 * optionally Prometheus metrics over HTTP at {@code /metrics} ({@link ServiceHost}).
 *
 * <p>Health ({@code ""} and the service name): NOT_SERVING until a policy is installed (Generate
 * answers UNAVAILABLE meanwhile), SERVING from the first install, NOT_SERVING from shutdown on.
 * Shutdown is graceful: {@link #shutdown()} refuses new calls while in-flight streams finish;
 * {@link #close()} waits up to the grace period, then cancels what is left.
 */
public final class SamplerServer implements AutoCloseable {

  private final SamplerServerOptions options;
  private final SamplerMetrics metrics = new SamplerMetrics();
  private final PolicyHolder policies;
  private final boolean ownsPolicies;
  private final PolicyHolder.Listener onInstall = new PolicyHolder.Listener() {
    @Override
    public void installed(long epoch, long version) {
      policyInstalled();
    }

    @Override
    public void retired(long newEpoch) {
      host.setServing(false); // another run's policy is gone; serving again with the new run's
    }
  };
  private GenerationEngine engine;
  private ServiceHost host;
  private boolean closed;

  SamplerServer(SamplerServerOptions options) {
    this.options = options;
    this.ownsPolicies = options.policies() == null;
    this.policies = ownsPolicies ? new PolicyHolder() : options.policies();
  }

  /** Options for a server; see {@link SamplerServerOptions.Builder}. */
  public static SamplerServerOptions.Builder builder() {
    return new SamplerServerOptions.Builder();
  }

  /**
   * Starts the engine, binds the ports and starts serving.
   *
   * @throws IOException if a port cannot be bound
   * @throws IllegalStateException if already started
   */
  public synchronized SamplerServer start() throws IOException {
    if (host != null || closed) {
      throw new IllegalStateException("a sampler server starts once");
    }
    try {
      engine = new GenerationEngine(policies, options.engine());
      engine.addListener(metrics);
      options.listeners().forEach(engine::addListener);
      metrics.watch(engine, policies);
      host = ServiceHost.start(options.host(),
          executor -> List.of(new SamplerGrpcService(engine, metrics, executor)),
          List.of(SamplerServiceGrpc.SERVICE_NAME), false, metrics::scrape);
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
    policies.addListener(onInstall);
    if (policies.currentVersion() >= 0) {
      policyInstalled();
    }
    return this;
  }

  private void policyInstalled() {
    host.setServing(true);
  }

  /** Where weight sync installs policy versions. */
  public PolicyHolder policies() {
    return policies;
  }

  /** The bound gRPC port (the actual one when 0 was asked for). */
  public synchronized int port() {
    return started().port();
  }

  /** The bound metrics port, or -1 when metrics over HTTP are off. */
  public synchronized int metricsPort() {
    return started().metricsPort();
  }

  /** The engine serving requests; {@link GenerationEngine#pause()} holds decoding. */
  public synchronized GenerationEngine engine() {
    started();
    return engine;
  }

  public SamplerMetrics metrics() {
    return metrics;
  }

  /** Reports NOT_SERVING and refuses new calls; in-flight streams go on. Idempotent. */
  public synchronized void shutdown() {
    if (host != null) {
      host.shutdown();
    }
  }

  /** Waits until every call has finished after {@link #shutdown()}; false on timeout. */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    ServiceHost h;
    synchronized (this) {
      h = host;
    }
    return h == null || h.awaitTermination(timeout);
  }

  /** Blocks until the server terminates (for a main thread). */
  public void blockUntilShutdown() throws InterruptedException {
    while (!awaitTermination(Duration.ofDays(1))) {
      // keep waiting
    }
  }

  /**
   * Shuts down, waits up to the grace period for in-flight streams, cancels the rest, then stops
   * the engine and the metrics endpoint, and closes an owned policy holder. Idempotent.
   */
  @Override
  public void close() {
    ServiceHost h;
    synchronized (this) {
      h = host;
    }
    if (h != null) {
      h.close();
    }
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      policies.removeListener(onInstall);
      if (engine != null) {
        engine.close();
      }
    }
    if (ownsPolicies) { // outside the lock: an install in flight may call policyInstalled
      policies.close();
    }
  }

  private ServiceHost started() {
    if (host == null) {
      throw new IllegalStateException("the sampler server is not started; call start()");
    }
    return host;
  }
}
