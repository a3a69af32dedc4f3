package dev.graft.teacher.server;

import dev.graft.proto.v1.TeacherServiceGrpc;
import dev.graft.service.ServiceHost;
import java.io.IOException;
import java.time.Duration;
import java.util.List;

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
  private final TeacherMetrics metrics = new TeacherMetrics();
  private LocalTeacher teacher;
  private boolean ownsTeacher;
  private ScoreBatcher batcher;
  private ServiceHost host;
  private boolean closed;

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
    if (host != null || closed) {
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
      host = ServiceHost.start(options.host(),
          executor -> List.of(new TeacherGrpcService(batcher, options.chunkBytes(), metrics, executor)),
          List.of(TeacherServiceGrpc.SERVICE_NAME), true, metrics::scrape);
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
    return this;
  }

  /** The bound gRPC port (the actual one when 0 was asked for). */
  public synchronized int port() {
    return started().port();
  }

  /** The bound metrics port, or -1 when metrics over HTTP are off. */
  public synchronized int metricsPort() {
    return started().metricsPort();
  }

  /** The batcher serving requests; {@link ScoreBatcher#pause()} holds new forward passes. */
  public synchronized ScoreBatcher batcher() {
    started();
    return batcher;
  }

  public TeacherMetrics metrics() {
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
   * Shuts down, waits up to the grace period for in-flight streams, cancels the rest, then frees
   * the batcher, the metrics endpoint and an owned model. Idempotent.
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
      if (batcher != null) {
        batcher.close();
      }
      if (ownsTeacher && teacher != null) {
        teacher.close();
      }
    }
  }

  private ServiceHost started() {
    if (host == null) {
      throw new IllegalStateException("the teacher server is not started; call start()");
    }
    return host;
  }
}
