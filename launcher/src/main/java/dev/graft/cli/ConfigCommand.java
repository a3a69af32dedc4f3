package dev.graft.cli;

import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code graft config}: shows the default run config, or checks and resolves a user's. */
@Command(name = "config", mixinStandardHelpOptions = true,
    header = "Print the default run config, or check and resolve yours.",
    description = {"Print the default run config with every key and its meaning, or, with --config and/or "
            + "--set, check a run config and print it fully resolved."})
final class ConfigCommand implements Callable<Integer> {

  @Mixin
  RunOptions run = new RunOptions();

  @Option(names = "--resolved", description = "Print the resolved config even without --config or --set.")
  boolean resolved;

  @Override
  public Integer call() throws IOException {
    if (run.config == null && run.overrides.isEmpty() && run.steps == null && !resolved) {
      try (InputStream in = RunConfig.class.getResourceAsStream("defaults.yaml")) {
        System.out.print(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
      return 0;
    }
    RunPlan plan = run.plan();
    System.out.print(plan.source().toYaml());
    return 0;
  }
}
