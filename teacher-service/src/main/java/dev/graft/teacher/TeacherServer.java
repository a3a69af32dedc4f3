package dev.graft.teacher;

import dev.graft.service.MetricsHttpServer;
import dev.graft.proto.v1.TeacherServiceGrpc;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Lifecycle of a teacher replica: loads the model (or borrows a {@link LocalTeacher}), serves
 * {@code graft.v1.TeacherService} with dynamic batching, gRPC health ({@code SERVING} once
 * started, {@code NOT_SERVING} from shutdown on) and server reflection, and optionally Prometheus
 * metrics over HTTP at {@code /metrics}.
 *
 * <p>Shutdown is graceful: {@link #shutdown()} refuses new calls while in-flight streams finish;
 * {@link #close()} waits up to the grace period, then cancels what is left.
 */
public final class TeacherServer implements AutoCloseable {

  private final TeacherServerOptions options;
  private final HealthStatusManager health = new HealthStatusManager();
  private final TeacherMetrics metrics = new TeacherMetrics();
  private LocalTeacher teacher;
  private boolean ownsTeacher;
  private ScoreBatcher batcher;
  private ExecutorService executor;
  private Server server;
  private MetricsHttpServer metricsHttp;
  private boolean closed;
  private boolean shuttingDown;

  TeacherServer(TeacherServerOptions options) {
    this.options = options;
  }

  /** Options for a server; see {@link TeacherServerOptions.Builder}. */
  public static TeacherServerOptions.Builder builder() {
    return new TeacherServerOptions.Builder();
  }

  /**
   * Loads the model if needed, binds the ports and starts serving.
   *
   * @throws IOException if the checkpoint cannot be read or a port cannot be bound
   * @throws IllegalStateException if already started
   */
  public synchronized TeacherServer start() throws IOException {
    if (server != null || closed) {
      throw new IllegalStateException("a teacher server starts once");
    }
    try {
      teacher = options.teacher() != null ? options.teacher()
          : LocalTeacher.load(options.checkpoint(),
              options.maxSequenceLength(), options.maxTokensPerRequest());
      ownsTeacher = options.teacher() == null;
      batcher = new ScoreBatcher(teacher, options.batcherOptions(teacher.limits()));
      batcher.addListener(metrics);
      options.listeners().forEach(batcher::addListener);
      metrics.watch(batcher);
      executor = Executors.newCachedThreadPool(daemonThreads());
      server = Grpc.newServerBuilderForPort(options.port(), InsecureServerCredentials.create())
          .executor(executor)
          .addService(new TeacherGrpcService(batcher, options.chunkBytes(), metrics, executor))
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
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(TeacherServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    return this;
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

  /** The batcher serving requests; {@link ScoreBatcher#pause()} holds new forward passes. */
  public synchronized ScoreBatcher batcher() {
    requireStarted();
    return batcher;
  }

  public TeacherMetrics metrics() {
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
   * Shuts down, waits up to the grace period for in-flight streams, cancels the rest, then frees
   * the batcher, the metrics endpoint and an owned model. Idempotent.
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
      if (batcher != null) {
        batcher.close();
      }
      if (metricsHttp != null) {
        metricsHttp.close();
      }
      if (executor != null) {
        executor.shutdown();
      }
      if (ownsTeacher && teacher != null) {
        teacher.close();
      }
    }
  }

  private void requireStarted() {
    if (server == null) {
      throw new IllegalStateException("the teacher server is not started; call start()");
    }
  }

  private static java.util.concurrent.ThreadFactory daemonThreads() {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, "teacher-grpc-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /**
   * Runs a teacher replica until it is stopped: {@code --checkpoint DIR} plus the options of
   * {@link TeacherServerOptions#fromArgs}.
   */
  public static void main(String[] args) throws Exception {
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
    TeacherServer server = TeacherServerOptions.fromArgs(args).build().start();
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "teacher-shutdown"));
    System.out.println("teacher serving on port " + server.port()
        + (server.metricsPort() >= 0 ? ", metrics on port " + server.metricsPort() : ""));
    server.blockUntilShutdown();
  }
}
