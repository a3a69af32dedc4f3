package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.TextSources;
import dev.graft.model.LlamaConfig;
import dev.graft.proto.v1.DType;
import dev.graft.sampler.SamplerClient;
import dev.graft.sampler.server.PolicyHolder;
import dev.graft.sampler.server.SamplerServer;
import dev.graft.sync.publish.WeightPublisher;
import dev.graft.sync.subscribe.WeightSubscriber;
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
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two teacher-services and two sampler-services on loopback; one of each is shut down mid-run,
 * and the run still completes on the survivors.
 */
class MultiReplicaTest {

  @Test
  void killingOneTeacherAndOneSamplerMidRun_stillCompletesTheRun(@TempDir Path home) throws Exception {
    Path data = TinyBase.data();
    Path teacher = TinyBase.teacher();
    RunConfig cfg = RunConfig.load(null, List.of("data.seq_len=64", "data.validation_fraction=0.1",
        "train.batch_size=8", "train.micro_batch=8", "train.steps=20", "retrofit.alpha_ramp_steps=5",
        "loss.k=16", "onpolicy.fraction=0.5", "onpolicy.prompt_tokens=8", "onpolicy.max_new_tokens=16",
        "onpolicy.publish_every=4", "eval.every=0", "eval.sequences=4", "checkpoint.every=0"));
    List<AutoCloseable> open = new ArrayList<>();
    try {
      List<TeacherServer> teachers = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        TeacherServer t = TeacherServer.builder().checkpoint(teacher).port(0)
            .shutdownGrace(Duration.ofMillis(200)).build().start();
        open.add(0, t);
        teachers.add(t);
      }
      WeightPublisher weights = new WeightPublisher();
      TrainerServer trainer = TrainerServer.start(0, new RunStatus("multi"), weights);
      open.add(0, trainer);
      List<SamplerServer> samplers = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        PolicyHolder holder = new PolicyHolder();
        open.add(0, holder);
        SamplerServer s = SamplerServer.builder().policies(holder).port(0).slots(4)
            .shutdownGrace(Duration.ofMillis(200)).build().start();
        open.add(0, s);
        samplers.add(s);
        WeightSubscriber sub = WeightSubscriber.builder().endpoint("localhost:" + trainer.port())
            .installer(holder).build();
        sub.start();
        open.add(0, sub);
      }
      List<String> teacherEndpoints = teachers.stream().map(t -> "localhost:" + t.port()).toList();
      TeacherClient training = TeacherClient.builder().endpoints(teacherEndpoints)
          .valueType(DType.DTYPE_BFLOAT16).build();
      TeacherClient exact = TeacherClient.builder().endpoints(teacherEndpoints).build();
      SamplerClient samplerClient = SamplerClient.builder()
          .endpoints(samplers.stream().map(s -> "localhost:" + s.port()).toList()).build();
      open.add(0, training);
      open.add(0, exact);
      open.add(0, samplerClient);

      List<Long> steps = new ArrayList<>();
      DistillListener killer = new DistillListener() {
        @Override
        public void onStep(StepStats s) {
          steps.add(s.step());
          if (s.step() == 8) {
            teachers.get(0).close();
            samplers.get(0).close();
          }
        }
      };
      DistillReport report;
      try (NDManager m = NDManager.newBaseManager()) {
        RunPlan.Bound plan = RunPlan.of(cfg).bind(LlamaConfig.read(teacher.resolve(HfCheckpoint.CONFIG_FILE)));
        report = new DistillJob(plan, teacher, home.resolve("run"), home.resolve("run/student"))
            .run(new Peers(training, samplerClient, weights), exact,
                TextSources.load(data), m, killer, new PrintStream(OutputStream.nullOutputStream()));
      }
      assertEquals(20, steps.size(), "every step ran: " + steps);
      assertEquals(20, report.outcome().steps());
      assertTrue(report.after().overall().meanKl() < report.before().overall().meanKl(),
          "KL fell: " + report.before().overall().meanKl() + " -> " + report.after().overall().meanKl());
    } finally {
      for (AutoCloseable c : open) {
        c.close();
      }
    }
  }
}
