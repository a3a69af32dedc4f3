package dev.graft.kube.submit;

import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.util.List;

/** Submissions for tests: the default run config (on-policy) with a few overrides. */
final class Specs {

  private Specs() {}

  static RunPlan plan(String... overrides) {
    return RunPlan.of(RunConfig.load(null, List.of(overrides)));
  }

  static SubmitSpec spec(String run, int teachers, int samplers, SubmitSpec.Device device, int autoscaleMax) {
    return new SubmitSpec(new RunNames("graft-test", run), plan("train.steps=500"), teachers, samplers, device,
        "registry.example.com/graft:0.1.0", "5Gi", autoscaleMax);
  }
}
