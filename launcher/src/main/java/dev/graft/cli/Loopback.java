package dev.graft.cli;

import dev.graft.model.ComputeDevice;
import dev.graft.sampler.server.FixedModelSampler;
import dev.graft.sampler.server.SamplerReplica;
import dev.graft.sampler.server.SamplerServer;
import dev.graft.service.HostPort;
import dev.graft.service.TransportSecurity;
import dev.graft.sync.subscribe.WeightSubscriber;
import dev.graft.teacher.server.TeacherServer;
import dev.graft.trainer.Home;
import dev.graft.trainer.Trainer;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.plan.RunPlan;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * The peers a trainer needs, started in this process on loopback when the plan names no running
 * ones: a teacher-service serving the teacher's checkpoint, for an on-policy run a
 * sampler-service that follows the trainer's policy versions and, for a run with teacher
 * continuations ({@code seqkd}), a sampler-service serving the teacher's checkpoint. This is how
 * {@code graft local} and {@code graft distill} run the three roles in one JVM.
 */
final class Loopback implements AutoCloseable {

  private final TeacherServer teacher; // null when the plan names teacher-services
  private final SamplerReplica sampler; // null when off-policy or the plan names sampler-services
  private final FixedModelSampler teacherSampler; // null without seqkd or when the plan names its samplers
  private final List<HostPort> teachers;
  private final List<HostPort> samplers;

  private Loopback(TeacherServer teacher, SamplerReplica sampler, FixedModelSampler teacherSampler,
      List<HostPort> teachers, List<HostPort> samplers) {
    this.teacher = teacher;
    this.sampler = sampler;
    this.teacherSampler = teacherSampler;
    this.teachers = teachers;
    this.samplers = samplers;
  }

  /** Runs {@code plan}: the trainer, with loopback peers where the plan names none. */
  static DistillReport run(Home home, RunPlan plan, Path defaultTeacher, PrintStream o, boolean fresh,
      ComputeDevice device) throws IOException {
    EngineThreads threads = EngineThreads.forCallers(callers(plan));
    threads.apply();
    o.println(threads.describe());
    o.println("device: " + device + (device.kind() == ComputeDevice.Kind.AUTO ? " (" + device.djl() + ")" : ""));
    try (Trainer trainer = Trainer.open(plan, home, defaultTeacher, fresh, o, device,
            TransportSecurity.plaintext()); // local mode: every link is on loopback
        Loopback peers = start(trainer, o)) {
      return trainer.run(peers.teachers, peers.samplers, System.console() != null);
    }
  }

  /** Roles of this process that call the engine at once: the trainer, and the peers started here. */
  static int callers(RunPlan plan) {
    int n = 1;
    if (plan.teacher().endpoints().isEmpty()) {
      n++;
    }
    if (plan.onpolicy().enabled() && plan.onpolicy().samplers().isEmpty()) {
      n++;
    }
    if (plan.needsTeacherSamplers() && plan.seqkd().samplers().isEmpty()) {
      n++;
    }
    return n;
  }

  /** Starts what {@code trainer}'s plan does not name. */
  static Loopback start(Trainer trainer, PrintStream o) throws IOException {
    RunPlan plan = trainer.plan().plan();
    TeacherServer teacher = null;
    SamplerReplica sampler = null;
    FixedModelSampler teacherSampler = null;
    try {
      List<HostPort> teachers = plan.teacher().endpoints();
      if (teachers.isEmpty()) {
        teacher = TeacherServer.builder().device(trainer.device()).checkpoint(trainer.teacherDir()).port(0)
            .metricsPort(0)
            .maxSequenceLength(plan.data().seqLen()).build().start();
        teachers = List.of(new HostPort("localhost", teacher.port()));
        o.printf("teacher-service: %s on localhost:%d (metrics http://localhost:%d/metrics)%n",
            trainer.teacherDir(), teacher.port(), teacher.metricsPort());
      }
      List<HostPort> samplers = plan.onpolicy().samplers();
      if (plan.onpolicy().enabled() && samplers.isEmpty()) {
        sampler = SamplerReplica.start(SamplerServer.builder().device(trainer.device()).port(0).metricsPort(0)
                .slots(8),
            WeightSubscriber.builder().endpoint("localhost:" + trainer.port()));
        samplers = List.of(new HostPort("localhost", sampler.port()));
        o.printf("sampler-service: on localhost:%d (metrics http://localhost:%d/metrics), weights from"
            + " localhost:%d%n", sampler.port(), sampler.metricsPort(), trainer.port());
      }
      if (plan.needsTeacherSamplers() && plan.seqkd().samplers().isEmpty()) {
        teacherSampler = FixedModelSampler.start(SamplerServer.builder().device(trainer.device()).port(0)
            .metricsPort(0).slots(8), trainer.teacherDir());
        trainer.useTeacherSamplers(List.of(new HostPort("localhost", teacherSampler.port())));
        o.printf("sampler-service (teacher): %s on localhost:%d (metrics http://localhost:%d/metrics)%n",
            trainer.teacherDir(), teacherSampler.port(), teacherSampler.metricsPort());
      }
      return new Loopback(teacher, sampler, teacherSampler, teachers, samplers);
    } catch (IOException | RuntimeException e) {
      if (teacherSampler != null) {
        teacherSampler.close();
      }
      if (sampler != null) {
        sampler.close();
      }
      if (teacher != null) {
        teacher.close();
      }
      throw e;
    }
  }

  @Override
  public void close() {
    if (teacherSampler != null) {
      teacherSampler.close();
    }
    if (sampler != null) {
      sampler.close();
    }
    if (teacher != null) {
      teacher.close();
    }
  }
}
