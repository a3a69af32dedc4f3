package dev.graft.cli;

import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The run config of a distillation: a YAML file and {@code --set} overrides on top of the defaults. */
final class RunOptions {

  @Option(names = "--config", paramLabel = "FILE", defaultValue = "${env:GRAFT_CONFIG}",
      description = {"YAML run config; any key not given keeps its default. Env: GRAFT_CONFIG (a pod mounts it "
          + "from a ConfigMap).",
          "See `graft config` for every key with its default and meaning."})
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = {"Override one key, e.g. --set train.steps=100 --set loss.divergence=reverse_kl. Applied "
              + "after --config, in order; repeatable."})
  List<String> overrides = new ArrayList<>();

  @Option(names = "--steps", paramLabel = "N",
      description = "Shortcut for --set train.steps=N (also scales nothing else).")
  Long steps;

  /**
   * The run as a checked plan: every problem of the config is reported here, before any work.
   *
   * @param last overrides a command applies after every other (its own options for config keys)
   */
  RunPlan plan(String... last) {
    return RunPlan.of(load(last));
  }

  /** The resolved config; unknown keys and wrong types are errors here. */
  RunConfig load(String... last) {
    List<String> all = new ArrayList<>(overrides);
    if (steps != null) {
      all.add("train.steps=" + steps);
    }
    all.addAll(List.of(last));
    return RunConfig.load(config, all);
  }
}
