package dev.graft.cli;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.Document;
import dev.graft.model.LlamaConfig;
import dev.graft.proto.v1.DType;
import dev.graft.sampler.PolicyHolder;
import dev.graft.sampler.SamplerClient;
import dev.graft.sampler.SamplerServer;
import dev.graft.sampler.sync.PolicyGrpcService;
import dev.graft.sampler.sync.WeightPublisher;
import dev.graft.sampler.sync.WeightSubscriber;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherServer;
import dev.graft.trainer.distill.DistillJob;
import dev.graft.trainer.distill.DistillProgress;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.distill.Distiller;
import dev.graft.trainer.distill.RunConfig;
import dev.graft.trainer.distill.RunValidation;
import dev.graft.trainer.distill.StepLog;
import dev.graft.trainer.distill.WireDtype;
import dev.graft.trainer.server.RunStatus;
import dev.graft.trainer.server.TrainerServer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Wires one distillation run: the teacher-service (started on loopback unless the config names
 * running replicas), the trainer's status server, the gRPC clients, the corpus and the job.
 */
final class DistillRun {

  private DistillRun() {}

  /**
   * Runs {@code cfg} with {@code defaultTeacher} as the teacher when the config names none.
   *
   * @return the report
   */
  static DistillReport run(Home home, RunConfig cfg, Path defaultTeacher, PrintStream o, boolean fresh)
      throws Exception {
    RunValidation.check(cfg);
    Path teacherDir = cfg.teacher().model().isBlank() ? defaultTeacher : Path.of(cfg.teacher().model());
    if (teacherDir == null || !Files.isRegularFile(teacherDir.resolve(HfCheckpoint.CONFIG_FILE))) {
      throw new IllegalArgumentException("no teacher checkpoint at " + teacherDir
          + (cfg.teacher().model().isBlank() ? "; run `graft local` or `graft pretrain` first to train the"
              + " embedded base model, or set teacher.model" : " (teacher.model)"));
    }
    RunValidation.checkAgainst(cfg, LlamaConfig.read(teacherDir.resolve(HfCheckpoint.CONFIG_FILE)));
    Path runDir = cfg.output().isBlank() ? home.run(runName(teacherDir, cfg)) : Path.of(cfg.output());
    if (fresh && Files.exists(runDir)) {
      o.println("discarding the earlier run in " + runDir);
      dev.graft.trainer.pretrain.RunCheckpoints.deleteTree(runDir);
    }
    List<Document> corpus = corpus(home, cfg.data().corpus(), o);
    List<AutoCloseable> open = new ArrayList<>();
    RunStatus status = new RunStatus(runDir.getFileName().toString());
    try {
      List<String> endpoints = new ArrayList<>(cfg.teacher().endpoints());
      if (endpoints.isEmpty()) {
        TeacherServer teacher = TeacherServer.builder().checkpoint(teacherDir).port(0).metricsPort(0)
            .maxSequenceLength(cfg.data().seqLen())
            .build().start();
        open.add(0, teacher);
        endpoints.add("localhost:" + teacher.port());
        o.printf("teacher-service: %s on localhost:%d (metrics http://localhost:%d/metrics)%n",
            teacherDir, teacher.port(), teacher.metricsPort());
      }
      boolean onPolicy = cfg.onpolicy().fraction() > 0;
      WeightPublisher weights = onPolicy ? new WeightPublisher() : null;
      PolicyGrpcService policyService = onPolicy ? new PolicyGrpcService(weights) : null;
      int trainerPort = -1;
      if (cfg.server().port() >= 0) {
        TrainerServer trainer = TrainerServer.start(cfg.server().port(), status,
            onPolicy ? List.of(policyService) : List.of());
        open.add(0, trainer);
        if (onPolicy) {
          open.add(0, policyService::endWatches); // else open watch streams hold the shutdown
        }
        trainerPort = trainer.port();
        o.printf("student-trainer: status%s service on localhost:%d%n", onPolicy ? " and policy" : "",
            trainerPort);
      }
      DistillJob.OnPolicyPeers peers = null;
      if (onPolicy) {
        peers = new DistillJob.OnPolicyPeers(samplers(cfg, trainerPort, open, o), weights::publish);
      }
      Duration deadline = Duration.ofMillis((long) (cfg.teacher().deadlineSeconds() * 1000));
      TeacherClient training = TeacherClient.builder().endpoints(endpoints).deadline(deadline)
          .valueType(WireDtype.parse(cfg.loss().valueDtype()).proto()).build();
      open.add(0, training);
      TeacherClient exact = TeacherClient.builder().endpoints(endpoints).deadline(deadline)
          .valueType(DType.DTYPE_FLOAT32).build();
      open.add(0, exact);
      DistillJob job = new DistillJob(cfg, teacherDir, runDir, runDir.resolve("student"));
      DistillReport report;
      try (NDManager manager = NDManager.newBaseManager();
          StepLog steps = new StepLog(runDir);
          DistillProgress progress = new DistillProgress(o, System.console() != null, 25)) {
        report = job.run(training, exact, peers, corpus, manager,
            Distiller.Listener.all(progress, steps, status), o);
      }
      status.done();
      o.println();
      o.print(report.toTable());
      o.println("student checkpoint (Hugging Face layout): " + runDir.resolve("student"));
      return report;
    } catch (Exception | Error e) {
      status.failed(e.getMessage());
      throw e;
    } finally {
      for (AutoCloseable c : open) {
        c.close();
      }
    }
  }

  /**
   * A client over the configured samplers, or over one started here on loopback that subscribes
   * to the trainer's policy service.
   */
  private static SamplerClient samplers(RunConfig cfg, int trainerPort, List<AutoCloseable> open,
      PrintStream o) throws IOException {
    List<String> endpoints = new ArrayList<>(cfg.onpolicy().samplers());
    if (endpoints.isEmpty()) {
      PolicyHolder holder = new PolicyHolder();
      open.add(0, holder);
      SamplerServer sampler = SamplerServer.builder().policies(holder).port(0).metricsPort(0)
          .slots(8).build().start();
      open.add(0, sampler);
      WeightSubscriber sub = WeightSubscriber.builder().endpoint("localhost:" + trainerPort)
          .installer(holder).build();
      sub.start();
      open.add(0, sub);
      endpoints.add("localhost:" + sampler.port());
      o.printf("sampler-service: on localhost:%d (metrics http://localhost:%d/metrics), weights from"
          + " localhost:%d%n", sampler.port(), sampler.metricsPort(), trainerPort);
    }
    SamplerClient client = SamplerClient.builder().endpoints(endpoints).build();
    open.add(0, client);
    return client;
  }

  static List<Document> corpus(Home home, String corpus, PrintStream o) throws IOException {
    return CorpusOptions.load(home, corpus.isBlank() || corpus.equals("brown") ? null : Path.of(corpus), o);
  }



  private static String runName(Path teacherDir, RunConfig cfg) {
    String div = cfg.loss().divergence().replaceAll("[^A-Za-z0-9._-]", "_");
    return String.format(Locale.ROOT, "distill-%s-gqa%d-%s", teacherDir.getFileName(),
        cfg.retrofit().kvHeads(), div);
  }
}
