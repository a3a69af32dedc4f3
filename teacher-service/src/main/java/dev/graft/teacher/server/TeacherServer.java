package dev.graft.teacher.server;

import dev.graft.model.VocabBudget;
import dev.graft.proto.v1.TeacherServiceGrpc;
import dev.graft.service.HostedServer;
import dev.graft.service.ServiceHost;
import java.io.IOException;
import java.util.List;

/**
 * Lifecycle of a teacher replica: loads the model (or borrows a {@link LocalTeacher}), serves
 * {@code graft.v1.TeacherService} with dynamic batching, gRPC health ({@code SERVING} once
 * started, {@code NOT_SERVING} from shutdown on) and server reflection, and optionally Prometheus
 * metrics over HTTP at {@code /metrics}.
 *
 * <p>Shutdown is graceful ({@link HostedServer}).
 */
public final class TeacherServer extends HostedServer {

  private final TeacherServerOptions options;
  private final TeacherMetrics metrics = new TeacherMetrics();
  private LocalTeacher teacher;
  private boolean ownsTeacher;
  private ScoreBatcher batcher;

  TeacherServer(TeacherServerOptions options) {
    super("teacher");
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
    checkStartable();
    try {
      teacher = options.teacher() != null ? options.teacher()
          : LocalTeacher.load(options.checkpoint(),
              options.maxSequenceLength(), options.maxTokensPerRequest(),
              options.vocabBudget() != null ? options.vocabBudget() : VocabBudget.forMachine(),
              options.device(), options.maxHiddenStateBytes() > 0 ? options.maxHiddenStateBytes()
                  : LocalTeacher.DEFAULT_MAX_HIDDEN_STATE_BYTES);
      ownsTeacher = options.teacher() == null;
      batcher = new ScoreBatcher(teacher, options.batcherOptions(teacher.limits()));
      batcher.addListener(metrics);
      options.listeners().forEach(batcher::addListener);
      metrics.watch(batcher);
      hosted(ServiceHost.start(options.host(),
          executor -> List.of(new TeacherGrpcService(batcher, options.chunkBytes(), metrics, executor)),
          List.of(TeacherServiceGrpc.SERVICE_NAME), true, metrics.role()));
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
    return this;
  }

  /** The batcher serving requests; {@link ScoreBatcher#pause()} holds new forward passes. */
  public synchronized ScoreBatcher batcher() {
    started();
    return batcher;
  }

  public TeacherMetrics metrics() {
    return metrics;
  }

  /** Frees the batcher, the metrics endpoint and an owned model. */
  @Override
  protected synchronized void release() {
    if (batcher != null) {
      batcher.close();
    }
    if (ownsTeacher && teacher != null) {
      teacher.close();
    }
    metrics.close();
  }
}
