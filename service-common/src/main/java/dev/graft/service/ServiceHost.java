package dev.graft.service;

import io.grpc.BindableService;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The lifecycle every Graft gRPC server shares: a role's services plus gRPC health
 * ({@code grpc.health.v1}) and server reflection on one port, served by a pool of daemon threads,
 * optionally Prometheus metrics over HTTP at {@code /metrics}, and a graceful shutdown. The port is
 * plaintext or TLS as {@link Options#security()} says; with an allow-list of client identities the
 * role's services refuse other callers ({@link AllowedClients}) while health and reflection stay open.
 *
 * <p>Health starts as the role asks (SERVING, or NOT_SERVING until the role is ready) for
 * {@code ""} and each of the role's service names, and is NOT_SERVING for good from
 * {@link #shutdown()} on. {@link #shutdown()} refuses new calls while in-flight ones finish;
 * {@link #close()} waits up to the grace period, then cancels what is left.
 */
public final class ServiceHost implements AutoCloseable {

  /**
   * @param name the role, for thread names ("teacher", "sampler", "trainer")
   * @param port gRPC port; 0 picks a free one
   * @param metricsPort HTTP port of {@code /metrics}; 0 picks a free one, -1 turns it off
   * @param shutdownGrace how long {@link #close()} lets in-flight calls finish
   * @param security plaintext or TLS, and which clients the role's services accept
   * @param maxConnectionAge how long a client connection lives before the server asks the client
   *     to reconnect (GOAWAY), so that long-lived channels rebalance over replicas that came later;
   *     its calls then have {@code shutdownGrace} to finish. Zero: connections live for ever.
   */
  public record Options(String name, int port, int metricsPort, Duration shutdownGrace, TransportSecurity security,
      Duration maxConnectionAge) {
    public Options {
      checkPort("port", port, 0);
      checkPort("metrics port", metricsPort, -1);
      if (shutdownGrace == null || shutdownGrace.isNegative()) {
        throw new IllegalArgumentException("shutdown grace (" + shutdownGrace + ") must be >= 0");
      }
      if (security == null) {
        throw new IllegalArgumentException("transport security is required (TransportSecurity.plaintext() for none)");
      }
      if (maxConnectionAge == null || maxConnectionAge.isNegative()) {
        throw new IllegalArgumentException("max connection age (" + maxConnectionAge + ") must be >= 0 (0 = off)");
      }
    }

    /** Plaintext options whose connections live for ever, for loopback servers and tests. */
    public Options(String name, int port, int metricsPort, Duration shutdownGrace) {
      this(name, port, metricsPort, shutdownGrace, TransportSecurity.plaintext(), Duration.ZERO);
    }

    /** Options whose connections live for ever. */
    public Options(String name, int port, int metricsPort, Duration shutdownGrace, TransportSecurity security) {
      this(name, port, metricsPort, shutdownGrace, security, Duration.ZERO);
    }

    /** Plaintext options. */
    public Options(String name, int port, int metricsPort, Duration shutdownGrace, Duration maxConnectionAge) {
      this(name, port, metricsPort, shutdownGrace, TransportSecurity.plaintext(), maxConnectionAge);
    }

    private static void checkPort(String what, int port, int min) {
      if (port < min || port > 65535) {
        throw new IllegalArgumentException(what + " (" + port + ") must be in [" + min + ", 65535]");
      }
    }
  }

  private final Options options;
  private final List<String> healthNames;
  private final HealthStatusManager health = new HealthStatusManager();
  private final ExecutorService executor;
  private TransportSecurity.Opened<ServerCredentials> credentials;
  private Server server;
  private Server plaintextHealth; // health alone without TLS, for probes; null when off
  private int plaintextHealthPort = -1;
  private int port = -1; // as bound; the server forgets it once terminated
  private MetricsHttpServer metricsHttp;
  private boolean shuttingDown;
  private boolean closed;

  private ServiceHost(Options options, List<String> healthNames) {
    this.options = options;
    this.healthNames = List.copyOf(healthNames);
    this.executor = Executors.newCachedThreadPool(daemonThreads(options.name()));
  }

  /**
   * Binds the ports and starts serving.
   *
   * @param services the role's services, made with the server's executor (for work they hand off)
   * @param healthNames the service names health reports on, besides {@code ""}
   * @param serving whether health says SERVING from the start
   * @param metrics the role's registry: every call is counted and timed in it, and it is served at
   *     {@code /metrics}; null (no metrics) only when {@code options.metricsPort()} is -1
   * @throws IOException if a port cannot be bound; nothing is left running then
   */
  public static ServiceHost start(Options options, Function<ExecutorService, List<BindableService>> services,
      List<String> healthNames, boolean serving, RoleMetrics metrics) throws IOException {
    if (metrics == null && options.metricsPort() >= 0) {
      throw new IllegalArgumentException("a metrics port (" + options.metricsPort() + ") needs metrics");
    }
    ServiceHost host = new ServiceHost(options, healthNames);
    try {
      host.setServing(serving);
      host.credentials = options.security().openServer();
      ServerBuilder<?> b = Grpc.newServerBuilderForPort(options.port(), host.credentials.credentials())
          .executor(host.executor);
      if (!options.maxConnectionAge().isZero()) {
        b.maxConnectionAge(options.maxConnectionAge().toNanos(), TimeUnit.NANOSECONDS)
            .maxConnectionAgeGrace(options.shutdownGrace().toNanos(), TimeUnit.NANOSECONDS);
      }
      List<BindableService> roleServices = services.apply(host.executor);
      Set<String> allowed = options.security().allowedClients();
      for (BindableService s : roleServices) {
        b.addService(allowed.isEmpty() ? s.bindService()
            : ServerInterceptors.intercept(s, new AllowedClients(allowed))); // health, reflection stay open
      }
      if (metrics != null) {
        metrics.preregister(roleServices);
        b.intercept(metrics.serverInterceptor());
      }
      host.server = b.addService(host.health.getHealthService())
          .addService(ProtoReflectionServiceV1.newInstance())
          .build()
          .start();
      host.port = host.server.getPort();
      if (options.security().plaintextHealthPort() >= 0) {
        host.plaintextHealth = Grpc.newServerBuilderForPort(options.security().plaintextHealthPort(),
                InsecureServerCredentials.create())
            .executor(host.executor).addService(host.health.getHealthService()).build().start();
        host.plaintextHealthPort = host.plaintextHealth.getPort();
      }
      if (options.metricsPort() >= 0) {
        host.metricsHttp = MetricsHttpServer.start(options.metricsPort(), metrics::scrape);
      }
    } catch (IOException | RuntimeException e) {
      host.close();
      throw e;
    }
    return host;
  }

  /** Reports SERVING or NOT_SERVING; ignored once shutting down. */
  public synchronized void setServing(boolean serving) {
    if (shuttingDown) {
      return;
    }
    ServingStatus status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    health.setStatus("", status);
    healthNames.forEach(n -> health.setStatus(n, status));
  }

  /** The bound gRPC port (the actual one when 0 was asked for), also after shutdown. */
  public int port() {
    return port;
  }

  /** The bound port of health without TLS, or -1 when there is none. */
  public int plaintextHealthPort() {
    return plaintextHealthPort;
  }

  /** The bound metrics port, or -1 when metrics over HTTP are off. */
  public int metricsPort() {
    return metricsHttp == null ? -1 : metricsHttp.port();
  }

  /** Reports NOT_SERVING and refuses new calls; in-flight calls go on. Idempotent. */
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
    return server == null || server.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Blocks until the server terminates (for a main thread). */
  public void blockUntilShutdown() throws InterruptedException {
    while (!awaitTermination(Duration.ofDays(1))) {
      // keep waiting
    }
  }

  /**
   * Shuts down, waits up to the grace period for in-flight calls, cancels the rest, then stops
   * the metrics endpoint and the thread pool. Idempotent.
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
      if (metricsHttp != null) {
        metricsHttp.close();
      }
      if (plaintextHealth != null) {
        plaintextHealth.shutdownNow(); // kept until now so probes see NOT_SERVING while calls drain
      }
      if (credentials != null) {
        credentials.close();
      }
      executor.shutdown();
    }
  }

  private static ThreadFactory daemonThreads(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-grpc-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
