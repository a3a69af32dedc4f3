package dev.graft.cli;

import dev.graft.kube.discovery.EndpointSliceResolverProvider;
import dev.graft.trainer.Home;
import dev.graft.trainer.Trainer;
import dev.graft.trainer.plan.RunPlan;
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
            + "the checkpoint the teacher-services serve. Resumes from the run's newest checkpoint."})
final class TrainerCommand implements Callable<Integer> {

  @ParentCommand
  GraftCommand parent;

  @Mixin
  RunOptions run = new RunOptions();

  @Option(names = "--fresh", description = "Discard an earlier run in the same output directory and start over.")
  boolean fresh;

  @Mixin
  DeviceOption device = new DeviceOption();

  @Override
  public Integer call() throws Exception {
    RunPlan plan = run.plan();
    if (plan.teacher().endpoints().isEmpty()) {
      throw new IllegalArgumentException("graft trainer needs running teacher-services: set teacher.endpoints"
          + " (or use `graft distill`, which serves the teacher on loopback)");
    }
    if (plan.onpolicy().enabled() && plan.onpolicy().samplers().isEmpty()) {
      throw new IllegalArgumentException("graft trainer with onpolicy.fraction > 0 needs running"
          + " sampler-services: set onpolicy.samplers (or use `graft distill`)");
    }
    TeacherReplicaCheck.install(EndpointSliceResolverProvider.register(), plan.teacher().endpoints(),
        plan.teacher().deadline());
    Home home = new Home(parent.home);
    try (Trainer trainer = Trainer.open(plan, home, home.model(new PretrainOptions().modelName("brown")), fresh,
        System.out, device.device())) {
      trainer.run(plan.teacher().endpoints(), plan.onpolicy().samplers(), System.console() != null);
    }
    return 0;
  }
}
