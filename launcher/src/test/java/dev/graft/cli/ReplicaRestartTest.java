package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.TextSources;
import dev.graft.model.LlamaConfig;
import dev.graft.proto.v1.GetStatusRequest;
import dev.graft.proto.v1.TrainerServiceGrpc;
import dev.graft.proto.v1.TrainerStatus;
import dev.graft.sampler.SamplerClient;
import dev.graft.sync.publish.WeightPublisher;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.server.TeacherServer;
import dev.graft.trainer.distill.DistillJob;
import dev.graft.trainer.distill.DistillListener;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.distill.Peers;
import dev.graft.trainer.distill.StepStats;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.server.RunStatus;
import dev.graft.trainer.server.TrainerServer;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica pool that is briefly empty does not end a run. The only sampler is a separate
 * {@code graft sampler} process, killed with SIGKILL mid-run and started again 20 s later
 * (scheduled, not slept), as a pod restart would: the trainer waits for it (and says so in its
 * status), then carries on, and the run completes. The same for the only teacher, stopped and
 * started again on its port.
 */
class ReplicaRestartTest {

  /** How long the sampler stays dead: longer than any client's quick retries. */
  private static final long DOWN_SECONDS = 20;
  private static final int STEPS = 10;
  private static final int KILL_AT_STEP = 3;
  private static final long TEACHER_DOWN_SECONDS = 8;

  @Test
  void killingTheOnlySampler_andRestartingIt20sLater_theRunWaitsThenCompletes(@TempDir Path home) throws Exception {
    Path teacherDir = TinyBase.teacher();
    RunConfig cfg = RunConfig.load(null, List.of("data.seq_len=64", "data.validation_fraction=0.1",
        "train.batch_size=8", "train.micro_batch=8", "train.steps=" + STEPS, "train.warmup_steps=2",
        "retrofit.alpha_ramp_steps=4",
        "loss.k=16", "onpolicy.fraction=0.5", "onpolicy.prompt_tokens=8", "onpolicy.max_new_tokens=8",
        "onpolicy.publish_every=2", "onpolicy.patience_seconds=240", "eval.every=0", "eval.sequences=4",
        "checkpoint.every=0"));
    int samplerPort = freePort();
    List<AutoCloseable> open = new ArrayList<>();
    SamplerProcess sampler = null;
    try {
      TeacherServer teacher = TeacherServer.builder().checkpoint(teacherDir).port(0)
          .shutdownGrace(Duration.ofMillis(200)).build().start();
      open.add(0, teacher);
      WeightPublisher weights = new WeightPublisher();
      RunStatus status = new RunStatus("restart");
      TrainerServer trainer = TrainerServer.start(0, status, weights);
      open.add(0, trainer);
      sampler = new SamplerProcess(home, "localhost:" + trainer.port(), samplerPort);
      sampler.start();
      ManagedChannel statusChannel = Grpc.newChannelBuilder("localhost:" + trainer.port(),
          InsecureChannelCredentials.create()).build();
      open.add(0, statusChannel::shutdownNow);
      TeacherClient teacherClient = TeacherClient.builder().endpoints(List.of("localhost:" + teacher.port())).build();
      SamplerClient samplerClient = SamplerClient.builder().endpoints(List.of("localhost:" + samplerPort)).build();
      open.add(0, teacherClient);
      open.add(0, samplerClient);

      List<Long> steps = new CopyOnWriteArrayList<>();
      AtomicReference<TrainerStatus> seenWaiting = new AtomicReference<>();
      AtomicReference<Double> waited = new AtomicReference<>();
      ScheduledExecutorService restarter = Executors.newSingleThreadScheduledExecutor();
      open.add(0, restarter::shutdownNow);
      SamplerProcess s = sampler;
      DistillListener chaos = new DistillListener() {
        @Override
        public void onStep(StepStats st) {
          steps.add(st.step());
          if (st.step() == KILL_AT_STEP) {
            s.kill();
            restarter.schedule(s::start, DOWN_SECONDS, TimeUnit.SECONDS);
          }
        }

        @Override
        public void onWaiting(String peers, double seconds, String why) {
          if (s.killed() && seenWaiting.get() == null) { // the first wait after the kill
            seenWaiting.set(TrainerServiceGrpc.newBlockingStub(statusChannel)
                .withDeadlineAfter(10, TimeUnit.SECONDS).getStatus(GetStatusRequest.getDefaultInstance()));
          }
        }

        @Override
        public void onResumed(String peers, double seconds) {
          if (s.killed()) {
            waited.set(seconds);
          }
        }
      };
      DistillReport report;
      try (NDManager m = NDManager.newBaseManager()) {
        RunPlan.Bound plan = RunPlan.of(cfg).bind(LlamaConfig.read(teacherDir.resolve(HfCheckpoint.CONFIG_FILE)));
        report = new DistillJob(plan, teacherDir, home.resolve("run"), home.resolve("run/student"))
            .run(new Peers(teacherClient, samplerClient, weights), teacherClient, TextSources.load(TinyBase.data()), m,
                DistillListener.all(status, chaos), new PrintStream(OutputStream.nullOutputStream()));
      }

      assertNotNull(waited.get(), "the run never waited for the sampler; steps " + steps);
      assertTrue(waited.get() >= DOWN_SECONDS - 5, "waited " + waited.get() + " s, while the sampler was down "
          + DOWN_SECONDS + " s");
      assertEquals(STEPS, steps.size(), "every step ran: " + steps);
      assertEquals(STEPS, report.outcome().steps());
      assertEquals(STEPS * 4, report.outcome().rolloutsTrained(), "every on-policy row was a rollout");
      assertEquals(0, report.outcome().fallbackRows());
      TrainerStatus waiting = seenWaiting.get();
      assertNotNull(waiting);
      assertEquals("samplers", waiting.getWaitingFor(), waiting.toString());
      assertFalse(waiting.getWaitingReason().isEmpty());
      TrainerStatus done = TrainerServiceGrpc.newBlockingStub(statusChannel)
          .withDeadlineAfter(10, TimeUnit.SECONDS).getStatus(GetStatusRequest.getDefaultInstance());
      assertEquals("", done.getWaitingFor(), "no longer waiting: " + done);
    } finally {
      if (sampler != null) {
        sampler.kill();
      }
      for (AutoCloseable c : open) {
        c.close();
      }
    }
  }

  @Test
  void stoppingTheOnlyTeacher_andStartingItAgain_theRunWaitsThenCompletes(@TempDir Path home) throws Exception {
    Path teacherDir = TinyBase.teacher();
    RunConfig cfg = RunConfig.load(null, List.of("data.seq_len=64", "train.batch_size=8", "train.micro_batch=8",
        "train.steps=" + STEPS, "train.warmup_steps=2", "retrofit.alpha_ramp_steps=4", "loss.k=16",
        "onpolicy.fraction=0", "teacher.patience_seconds=240", "eval.every=0", "eval.sequences=4",
        "eval.continuations=0", "checkpoint.every=0", "server.port=-1"));
    int port = freePort();
    List<AutoCloseable> open = new ArrayList<>();
    AtomicReference<TeacherServer> teacher = new AtomicReference<>(startTeacher(teacherDir, port));
    try {
      // The exact (fp32) teacher for evaluation is another replica that stays up.
      TeacherServer evaluator = TeacherServer.builder().checkpoint(teacherDir).port(0)
          .shutdownGrace(Duration.ofMillis(200)).build().start();
      open.add(0, evaluator);
      TeacherClient training = TeacherClient.builder().endpoints(List.of("localhost:" + port)).build();
      TeacherClient exact = TeacherClient.builder().endpoints(List.of("localhost:" + evaluator.port())).build();
      open.add(0, training);
      open.add(0, exact);
      ScheduledExecutorService restarter = Executors.newSingleThreadScheduledExecutor();
      open.add(0, restarter::shutdownNow);
      List<Long> steps = new CopyOnWriteArrayList<>();
      List<String> waitedFor = new CopyOnWriteArrayList<>();
      AtomicReference<Double> waited = new AtomicReference<>();
      DistillListener chaos = new DistillListener() {
        @Override
        public void onStep(StepStats st) {
          steps.add(st.step());
          if (st.step() == KILL_AT_STEP) {
            teacher.get().close();
            restarter.schedule(() -> {
              teacher.set(startTeacher(teacherDir, port));
              return null;
            }, TEACHER_DOWN_SECONDS, TimeUnit.SECONDS);
          }
        }

        @Override
        public void onWaiting(String peers, double seconds, String why) {
          waitedFor.add(peers);
        }

        @Override
        public void onResumed(String peers, double seconds) {
          waited.set(seconds);
        }
      };
      DistillReport report;
      try (NDManager m = NDManager.newBaseManager()) {
        RunPlan.Bound plan = RunPlan.of(cfg).bind(LlamaConfig.read(teacherDir.resolve(HfCheckpoint.CONFIG_FILE)));
        report = new DistillJob(plan, teacherDir, home.resolve("run"), home.resolve("run/student"))
            .run(Peers.offPolicy(training), exact, TextSources.load(TinyBase.data()), m, chaos,
                new PrintStream(OutputStream.nullOutputStream()));
      }
      assertEquals(STEPS, steps.size(), "every step ran: " + steps);
      assertEquals(STEPS, report.outcome().steps());
      assertFalse(waitedFor.isEmpty(), "the run never waited");
      assertTrue(waitedFor.stream().allMatch("teachers"::equals), waitedFor.toString());
      assertNotNull(waited.get());
      assertTrue(waited.get() >= TEACHER_DOWN_SECONDS - 2, "waited " + waited.get() + " s");
    } finally {
      teacher.get().close();
      for (AutoCloseable c : open) {
        c.close();
      }
    }
  }

  private static TeacherServer startTeacher(Path dir, int port) throws IOException {
    return TeacherServer.builder().checkpoint(dir).port(port).shutdownGrace(Duration.ofMillis(200)).build().start();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** {@code graft sampler} in its own JVM, on the test's classpath. */
  private static final class SamplerProcess {
    private final Path home;
    private final String trainer;
    private final int port;
    private Process process;
    private boolean killed;
    private int starts;

    SamplerProcess(Path home, String trainer, int port) {
      this.home = home;
      this.trainer = trainer;
      this.port = port;
    }

    synchronized void start() {
      String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
      Path java = Path.of(System.getProperty("java.home"), "bin", "java");
      ProcessBuilder pb = new ProcessBuilder(java.toString(), "-Dai.djl.offline=true", "-Xmx1g",
          "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", cp, GraftCommand.class.getName(),
          "--home", home.toString(), "sampler", "--trainer", trainer, "--port", Integer.toString(port),
          "--metrics-port", "-1", "--slots", "4", "--shutdown-grace-s", "1", "--plaintext");
      pb.environment().put("OMP_NUM_THREADS", "1");
      Path log = home.resolve("sampler-" + (++starts) + ".log");
      pb.redirectErrorStream(true).redirectOutput(log.toFile());
      try {
        Files.createDirectories(home);
        process = pb.start();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** SIGKILL: no shutdown hook, no goodbye to clients. */
    synchronized void kill() {
      if (process != null && process.isAlive()) {
        process.destroyForcibly();
        try {
          process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        killed = true;
      }
    }

    synchronized boolean killed() {
      return killed;
    }
  }
}
