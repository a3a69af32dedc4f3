package dev.graft.trainer;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.Document;
import dev.graft.model.ComputeDevice;
import dev.graft.model.LlamaConfig;
import dev.graft.proto.v1.DType;
import dev.graft.sampler.SamplerClient;
import dev.graft.service.HostPort;
import dev.graft.service.TransportSecurity;
import dev.graft.sync.publish.WeightPublisher;
import dev.graft.teacher.TeacherClient;
import dev.graft.trainer.checkpoint.RunCheckpoints;
import dev.graft.trainer.data.Corpora;
import dev.graft.trainer.distill.DistillJob;
import dev.graft.trainer.distill.DistillListener;
import dev.graft.trainer.distill.DistillProgress;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.distill.EvalLog;
import dev.graft.trainer.distill.Peers;
import dev.graft.trainer.distill.StepLog;
import dev.graft.trainer.distill.StopRequest;
import dev.graft.trainer.distill.TrainingStopped;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.report.RunReportPage;
import dev.graft.trainer.server.RunStatus;
import dev.graft.trainer.server.TrainerMetrics;
import dev.graft.trainer.server.TrainerServer;
import io.grpc.ClientInterceptor;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The student-trainer role: one distillation run from a typed plan, against teacher-services and
 * (for an on-policy run) sampler-services at given endpoints.
 *
 * <p>{@link #open} reads the teacher's architecture once, binds the plan to it (an impossible run
 * fails here, before any work), and starts the trainer's server: the status service and, for an
 * on-policy run, the policy service samplers fetch weights from. {@link #run} then loads the
 * corpus and trains; the caller may start loopback peers in between, pointed at {@link #port()}.
 */
public final class Trainer implements AutoCloseable {

  private final RunPlan.Bound plan;
  private final Home home;
  private final Path teacherDir;
  private final Path runDir;
  private final PrintStream log;
  private final RunStatus status;
  private final TrainerMetrics metrics = new TrainerMetrics();
  private final WeightPublisher weights; // null when off-policy
  private final TrainerServer server; // null when server.port is -1
  private final ComputeDevice device;
  private final TransportSecurity security;
  private List<HostPort> teacherSamplers; // seqkd.samplers, or those started beside the trainer

  private Trainer(RunPlan.Bound plan, Home home, Path teacherDir, Path runDir, PrintStream log,
      RunStatus status, WeightPublisher weights, ComputeDevice device, TransportSecurity security) {
    this.device = device;
    this.security = security;
    this.plan = plan;
    this.home = home;
    this.teacherDir = teacherDir;
    this.runDir = runDir;
    this.log = log;
    this.status = status;
    this.weights = weights;
    this.server = start(plan.plan(), status, weights, metrics, log, security);
    this.teacherSamplers = plan.plan().seqkd().samplers();
  }

  /**
   * The samplers serving the teacher for teacher-continuation rows ({@code seqkd}), replacing
   * {@code seqkd.samplers}: e.g. one started beside the trainer on loopback.
   */
  public synchronized Trainer useTeacherSamplers(List<HostPort> endpoints) {
    this.teacherSamplers = List.copyOf(endpoints);
    return this;
  }

  private static TrainerServer start(RunPlan plan, RunStatus status, WeightPublisher weights, TrainerMetrics metrics,
      PrintStream log, TransportSecurity security) {
    if (plan.serverPort() < 0) {
      return null;
    }
    try {
      TrainerServer server = TrainerServer.start(plan.serverPort(), plan.metricsPort(), status, weights, metrics,
          security);
      log.printf("student-trainer: status%s service on localhost:%d (%s)%s%n", weights != null ? " and policy" : "",
          server.port(), security.describe(), server.metricsPort() >= 0
              ? " (metrics http://localhost:" + server.metricsPort() + "/metrics)" : "");
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the trainer's server on port " + plan.serverPort(), e);
    }
  }

  /**
   * Prepares a run and starts the trainer's server.
   *
   * @param defaultTeacher the teacher's checkpoint when the plan names none (the embedded base model)
   * @param fresh discard an earlier run in the same directory
   * @throws IllegalArgumentException when there is no teacher checkpoint or the plan does not fit it
   */
  public static Trainer open(RunPlan plan, Home home, Path defaultTeacher, boolean fresh, PrintStream log)
      throws IOException {
    return open(plan, home, defaultTeacher, fresh, log, ComputeDevice.AUTO);
  }

  /** {@link #open(RunPlan, Home, Path, boolean, PrintStream)} computing on {@code device}. */
  public static Trainer open(RunPlan plan, Home home, Path defaultTeacher, boolean fresh, PrintStream log,
      ComputeDevice device) throws IOException {
    return open(plan, home, defaultTeacher, fresh, log, device, TransportSecurity.plaintext());
  }

  /**
   * {@link #open(RunPlan, Home, Path, boolean, PrintStream, ComputeDevice)} with the trainer's
   * server and its channels to teachers and samplers secured as {@code security} says.
   */
  public static Trainer open(RunPlan plan, Home home, Path defaultTeacher, boolean fresh, PrintStream log,
      ComputeDevice device, TransportSecurity security) throws IOException {
    device.checkAvailable();
    Path teacherDir = teacherDir(plan, defaultTeacher);
    RunPlan.Bound bound = plan.bind(LlamaConfig.read(teacherDir.resolve(HfCheckpoint.CONFIG_FILE)));
    Path runDir = plan.output() != null ? plan.output() : home.run(runName(teacherDir, plan));
    if (fresh && Files.exists(runDir)) {
      log.println("discarding the earlier run in " + runDir);
      RunCheckpoints.deleteTree(runDir);
    }
    RunStatus status = new RunStatus(runDir.getFileName().toString());
    WeightPublisher weights = plan.onpolicy().enabled() ? new WeightPublisher() : null; // a new epoch per run
    return new Trainer(bound, home, teacherDir, runDir, log, status, weights, device, security);
  }

  /**
   * The teacher checkpoint a run is built from: {@code teacher.model}, else {@code defaultTeacher}.
   *
   * @throws IllegalArgumentException when it holds no {@code config.json}, saying what to do
   */
  public static Path teacherDir(RunPlan plan, Path defaultTeacher) {
    Path teacherDir = plan.teacher().model() != null ? plan.teacher().model() : defaultTeacher;
    if (teacherDir == null || !Files.isRegularFile(teacherDir.resolve(HfCheckpoint.CONFIG_FILE))) {
      throw new IllegalArgumentException("no teacher checkpoint at " + teacherDir
          + (plan.teacher().model() == null ? "; run `graft local` or `graft pretrain` first to train the"
              + " embedded base model, or set teacher.model" : " (teacher.model)"));
    }
    return teacherDir;
  }

  /** The trainer's gRPC port (status, and policy weights when on-policy); -1 when off. */
  public int port() {
    return server == null ? -1 : server.port();
  }

  /** The trainer's {@code /metrics} HTTP port; -1 when off. */
  public int metricsPort() {
    return server == null ? -1 : server.metricsPort();
  }

  public RunPlan.Bound plan() {
    return plan;
  }

  /** Where the student computes (and where peers started beside it should). */
  public ComputeDevice device() {
    return device;
  }

  /** The teacher checkpoint the student is built from. */
  public Path teacherDir() {
    return teacherDir;
  }

  /** Where checkpoints, the step log and the student go. */
  public Path runDir() {
    return runDir;
  }

  /** Where the finished student goes, with {@code report.json} and {@code report.html}. */
  public Path studentDir() {
    return runDir.resolve("student");
  }

  /**
   * Loads the corpus and runs the retrofit; prints and returns the before/after report, and writes
   * it as {@code report.html} beside {@code report.json} (with the steps and evaluations logged
   * in {@code steps.jsonl} and {@code evals.jsonl}).
   *
   * @param teachers teacher-service replicas
   * @param samplers sampler-service replicas; used only by an on-policy run, which needs one
   * @param console whether progress may redraw a terminal line
   */
  public DistillReport run(List<HostPort> teachers, List<HostPort> samplers, boolean console) throws IOException {
    return run(teachers, samplers, console, new DistillListener() {}, new StopRequest());
  }

  /**
   * {@link #run(List, List, boolean)}, also telling {@code listener} the run's progress (e.g. the
   * sampler autoscaler's waiting signal), that {@code stop} can end after the current step, with a
   * checkpoint the next run over the same directory resumes from.
   *
   * @throws TrainingStopped when {@code stop} ended the run early
   */
  public DistillReport run(List<HostPort> teachers, List<HostPort> samplers, boolean console,
      DistillListener listener, StopRequest stop) throws IOException {
    RunPlan p = plan.plan();
    if (teachers.isEmpty()) {
      throw new IllegalArgumentException("the trainer needs teacher-services: set teacher.endpoints"
          + (p.teacher().store() != null ? " (with teacher.store they still score the exactness check, the"
              + " evaluation and on-policy rollouts)" : ""));
    }
    if (p.onpolicy().enabled() && samplers.isEmpty()) {
      throw new IllegalArgumentException("onpolicy.fraction " + p.onpolicy().fraction()
          + " needs sampler-services: set onpolicy.samplers");
    }
    List<HostPort> teacherSampling;
    synchronized (this) {
      teacherSampling = teacherSamplers;
    }
    if (p.needsTeacherSamplers() && teacherSampling.isEmpty()) {
      throw new IllegalArgumentException(p.teacherSamplersReason()
          + " needs sampler-services that serve the teacher (graft sampler --model): set seqkd.samplers");
    }
    List<String> teacherEndpoints = teachers.stream().map(HostPort::toString).toList();
    try {
      List<Document> corpus = Corpora.load(home, p.data().corpus(), log);
      DistillReport report;
      ClientInterceptor counted = metrics.role().clientInterceptor(); // every channel of the role
      try (TeacherClient training = TeacherClient.builder().endpoints(teacherEndpoints).security(security)
              .intercept(counted).deadline(p.teacher().deadline()).valueType(p.loss().valueDtype().proto()).build();
          TeacherClient exact = TeacherClient.builder().endpoints(teacherEndpoints).security(security)
              .intercept(counted).deadline(p.teacher().deadline()).valueType(DType.DTYPE_FLOAT32).build();
          SamplerClient sampling = p.onpolicy().enabled()
              ? SamplerClient.builder().endpoints(samplers.stream().map(HostPort::toString).toList())
                  .security(security).intercept(counted).build()
              : null;
          SamplerClient teacherSampler = p.needsTeacherSamplers()
              ? SamplerClient.builder().endpoints(teacherSampling.stream().map(HostPort::toString).toList())
                  .security(security).intercept(counted).build()
              : null;
          NDManager manager = device.newManager();
          StepLog steps = new StepLog(runDir);
          EvalLog evals = new EvalLog(runDir);
          DistillProgress progress = new DistillProgress(log, console, 25)) {
        Peers peers = new Peers(training, sampling, weights, teacherSampler);
        DistillJob job = new DistillJob(plan, teacherDir, runDir, studentDir(), stop);
        report = job.run(peers, exact, corpus, manager, DistillListener.all(progress, steps, evals, status, metrics,
            listener),
            log);
      }
      Path html = RunReportPage.write(runDir, studentDir(), report, p.source().toYaml());
      status.done();
      log.println();
      log.print(report.toTable());
      log.println("student checkpoint (Hugging Face layout): " + studentDir());
      log.println("report: " + html);
      return report;
    } catch (TrainingStopped e) {
      log.println();
      log.println("student-trainer: " + e.getMessage() + "; a restart resumes from it");
      throw e;
    } catch (IOException | RuntimeException | Error e) {
      status.failed(e.getMessage());
      throw e;
    }
  }

  /** The trainer's meters, served at {@code /metrics} when {@code server.metrics_port} is not -1. */
  public TrainerMetrics metrics() {
    return metrics;
  }

  /** Stops the trainer's server: weight watches end, in-flight calls finish. */
  @Override
  public void close() {
    if (server != null) {
      server.close();
    }
    metrics.close();
  }

  private static String runName(Path teacherDir, RunPlan plan) {
    String div = plan.loss().divergence().spec().replaceAll("[^A-Za-z0-9._-]", "_");
    return String.format(Locale.ROOT, "distill-%s-%s-%s", teacherDir.getFileName(),
        plan.retrofit().change().tag(), div);
  }
}
