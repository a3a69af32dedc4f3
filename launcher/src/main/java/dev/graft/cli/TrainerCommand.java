package dev.graft.cli;

import dev.graft.kube.discovery.EndpointSliceResolverProvider;
import dev.graft.kube.submit.TrainerWaiting;
import dev.graft.service.TransportSecurity;
import dev.graft.trainer.Home;
import dev.graft.trainer.Trainer;
import dev.graft.trainer.distill.TrainingStopped;
import dev.graft.trainer.plan.RunPlan;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code graft trainer}: the student-trainer role alone, against running teachers and samplers. */
@Command(name = "trainer", mixinStandardHelpOptions = true,
    header = "The student-trainer role alone, against running teachers and samplers.", sortOptions = false,
    description = {"Run the student-trainer role alone: one retrofit from a run config against running "
            + "teacher-services (teacher.endpoints) and, for an on-policy run, sampler-services "
            + "(onpolicy.samplers) that fetch weights from this trainer's server (server.port). The "
            + "student is built from teacher.model (default: the embedded base model), which must be "
            + "the checkpoint the teacher-services serve. Resumes from the run's newest checkpoint. SIGTERM "
            + "stops it after the current step with a checkpoint (exit 0), so an evicted pod resumes."})
final class TrainerCommand implements Callable<Integer> {

  @ParentCommand
  GraftCommand parent;

  @Mixin
  RunOptions run = new RunOptions();

  @Option(names = "--fresh", description = "Discard an earlier run in the same output directory and start over.")
  boolean fresh;

  @Option(names = "--stop-grace-s", paramLabel = "SECONDS", defaultValue = "${env:GRAFT_TRAINER_STOP_GRACE_S:-60}",
      description = "On SIGTERM the trainer finishes its current step, writes a checkpoint and exits 0, waiting"
          + " at most this long (keep the pod's terminationGracePeriodSeconds above it); a restart resumes from"
          + " the checkpoint. Default: ${DEFAULT-VALUE} (env GRAFT_TRAINER_STOP_GRACE_S).")
  long stopGraceSeconds;

  @Mixin
  DeviceOption device = new DeviceOption();

  @Option(names = "--metrics-port", paramLabel = "PORT", defaultValue = "${env:GRAFT_METRICS_PORT:-9466}",
      description = "HTTP port of /metrics (Prometheus); -1 turns it off, 0 picks a free one. Takes the place of "
          + "the run config's server.metrics_port. Default: the environment variable GRAFT_METRICS_PORT, else 9466.")
  String metricsPort;

  @Mixin
  AutoscaleOptions autoscale = new AutoscaleOptions();

  @Mixin
  TlsOptions tls = new TlsOptions();

  @Override
  public Integer call() throws Exception {
    RunPlan plan = plan();
    if (plan.teacher().endpoints().isEmpty()) {
      throw new IllegalArgumentException("graft trainer needs running teacher-services: set teacher.endpoints"
          + " (or use `graft distill`, which serves the teacher on loopback)");
    }
    if (plan.onpolicy().enabled() && plan.onpolicy().samplers().isEmpty()) {
      throw new IllegalArgumentException("graft trainer with onpolicy.fraction > 0 needs running"
          + " sampler-services: set onpolicy.samplers (or use `graft distill`)");
    }
    TransportSecurity security = tls.security("graft trainer");
    TeacherReplicaCheck.install(EndpointSliceResolverProvider.register(), plan.teacher().endpoints(),
        plan.teacher().deadline(), security);
    Home home = new Home(parent.home);
    var autoscalePolicy = autoscale.policy(plan);
    TrainerWaiting waiting = new TrainerWaiting();
    EvictionHook eviction = EvictionHook.install(Duration.ofSeconds(stopGraceSeconds));
    int status = 1;
    try (Trainer trainer = Trainer.open(plan, home, home.model(new PretrainOptions().modelName("brown")), fresh,
            System.out, device.device(), security);
        AutoCloseable autoscaler = autoscale.start(autoscalePolicy, waiting, System.out)) {
      try {
        trainer.run(plan.teacher().endpoints(), plan.onpolicy().samplers(), System.console() != null, waiting,
            eviction.stop());
      } catch (TrainingStopped e) {
        // checkpointed (Trainer.run said where): a restart resumes
      }
      status = 0;
    } finally {
      eviction.finished(status); // after the trainer's server has closed
    }
    return 0;
  }

  /** The run config with {@code --metrics-port} in the place of {@code server.metrics_port}. */
  RunPlan plan() {
    return run.plan("server.metrics_port=" + metricsPort(metricsPort));
  }

  /**
   * {@code --metrics-port} (or GRAFT_METRICS_PORT) as a port.
   *
   * @throws IllegalArgumentException unless it is -1, 0 or a port, naming both sources
   */
  static int metricsPort(String value) {
    int port;
    try {
      port = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      port = Integer.MIN_VALUE;
    }
    if (port < -1 || port > 65535) {
      throw new IllegalArgumentException("--metrics-port (or GRAFT_METRICS_PORT) '" + value
          + "' must be -1 (off), 0 (any free port) or a port in [1, 65535]");
    }
    return port;
  }
}
