package dev.graft.cli;

import dev.graft.trainer.Home;
import dev.graft.trainer.plan.RunPlan;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code graft distill}: one retrofit run from a run config, against a local or remote teacher. */
@Command(name = "distill", mixinStandardHelpOptions = true,
    header = "Retrofit a teacher checkpoint (loopback services unless endpoints are set).", sortOptions = false,
    description = {"Retrofit a teacher checkpoint and recover its quality by self-distillation. The teacher "
            + "is served on loopback unless teacher.endpoints names running teacher-services (`graft "
            + "teacher`). Without teacher.model the embedded base model is the teacher. An interrupted "
            + "run resumes from its newest checkpoint when started again."})
final class DistillCommand implements Callable<Integer> {

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
    Home home = new Home(parent.home);
    Path base = home.model(new PretrainOptions().modelName("brown"));
    Loopback.run(home, plan, base, System.out, fresh, device.device());
    return 0;
  }
}
