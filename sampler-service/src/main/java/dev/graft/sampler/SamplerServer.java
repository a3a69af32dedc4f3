package dev.graft.sampler;

import dev.graft.service.MetricsHttpServer;
import dev.graft.proto.v1.SamplerServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;

/**
 * Lifecycle of a sampler replica: serves {@code graft.v1.SamplerService} from a
 * {@link GenerationEngine} over a {@link PolicyHolder}, with gRPC health, server reflection and
 * optionally Prometheus metrics over HTTP at {@code /metrics}.
 *
 * <p>Health ({@code ""} and the service name): NOT_SERVING until a policy is installed (Generate
 * answers UNAVAILABLE meanwhile), SERVING from the first install, NOT_SERVING from shutdown on.
 * Shutdown is graceful: {@link #shutdown()} refuses new calls while in-flight streams finish;
 * {@link #close()} waits up to the grace period, then cancels what is left.
 */
public final class SamplerServer implements AutoCloseable {

  private final SamplerServerOptions options;
  private final HealthStatusManager health = new HealthStatusManager();
  private final SamplerMetrics metrics = new SamplerMetrics();
  private final PolicyHolder policies;
  private final boolean ownsPolicies;
  private final LongConsumer onInstall = v -> policyInstalled();
  private GenerationEngine engine;
  private ExecutorService executor;
  private Server server;
  private MetricsHttpServer metricsHttp;
  private volatile boolean shuttingDown;
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
    if (server != null || closed) {
      throw new IllegalStateException("a sampler server starts once");
    }
    setHealth(ServingStatus.NOT_SERVING);
    try {
      engine = new GenerationEngine(policies, options.engine());
      engine.addListener(metrics);
      options.listeners().forEach(engine::addListener);
      metrics.watch(engine, policies);
      executor = Executors.newCachedThreadPool(daemonThreads());
      server = Grpc.newServerBuilderForPort(options.port(), InsecureServerCredentials.create())
          .executor(executor)
          .addService(new SamplerGrpcService(engine, metrics, executor))
          .addService(health.getHealthService())
          .addService(ProtoReflectionServiceV1.newInstance())
          .build()
          .start();
      if (options.metricsPort() >= 0) {
        metricsHttp = MetricsHttpServer.start(options.metricsPort(), metrics::scrape);
      }
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

  /** Health never goes back to SERVING after shutdown: enterTerminalState ignores later updates. */
  private void policyInstalled() {
    if (!shuttingDown) {
      setHealth(ServingStatus.SERVING);
    }
  }

  private void setHealth(ServingStatus status) {
    health.setStatus("", status);
    health.setStatus(SamplerServiceGrpc.SERVICE_NAME, status);
  }

  /** Where weight sync installs policy versions. */
  public PolicyHolder policies() {
    return policies;
  }

  /** The bound gRPC port (the actual one when 0 was asked for). */
  public synchronized int port() {
    requireStarted();
    return server.getPort();
  }

  /** The bound metrics port, or -1 when metrics over HTTP are off. */
  public synchronized int metricsPort() {
    requireStarted();
    return metricsHttp == null ? -1 : metricsHttp.port();
  }

  /** The engine serving requests; {@link GenerationEngine#pause()} holds decoding. */
  public synchronized GenerationEngine engine() {
    requireStarted();
    return engine;
  }

  public SamplerMetrics metrics() {
    return metrics;
  }

  /** Reports NOT_SERVING and refuses new calls; in-flight streams go on. Idempotent. */
  public synchronized void shutdown() {
    if (shuttingDown) {
      return;
    }
    shuttingDown = true;
    health.enterTerminalState();
    if (server != null) {
      server.shutdown();
    }
  }

  /** Waits until every call has finished after {@link #shutdown()}; false on timeout. */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    Server s;
    synchronized (this) {
      s = server;
    }
    return s == null || s.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS);
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
    shutdown();
    try {
      if (!awaitTermination(options.shutdownGrace())) {
        server.shutdownNow();
        awaitTermination(Duration.ofSeconds(5));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      if (server != null) {
        server.shutdownNow();
      }
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
      if (metricsHttp != null) {
        metricsHttp.close();
      }
      if (executor != null) {
        executor.shutdown();
      }
    }
    if (ownsPolicies) { // outside the lock: an install in flight may call policyInstalled
      policies.close();
    }
  }

  private void requireStarted() {
    if (server == null) {
      throw new IllegalStateException("the sampler server is not started; call start()");
    }
  }

  private static ThreadFactory daemonThreads() {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, "sampler-grpc-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /**
   * Runs a sampler replica until it is stopped, with the options of
   * {@link SamplerServerOptions#fromArgs}. It reports NOT_SERVING until weight sync installs a
   * first policy into {@link #policies()}.
   */
  public static void main(String[] args) throws Exception {
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
    SamplerServer server = SamplerServerOptions.fromArgs(args).build().start();
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "sampler-shutdown"));
    System.out.println("sampler serving on port " + server.port()
        + (server.metricsPort() >= 0 ? ", metrics on port " + server.metricsPort() : ""));
    server.blockUntilShutdown();
  }
}
