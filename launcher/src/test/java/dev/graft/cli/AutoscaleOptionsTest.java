package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.graft.kube.submit.AutoscalePolicy;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code graft trainer}'s autoscaler flags, parsed as the command parses them. */
class AutoscaleOptionsTest {

  private static final RunPlan ON_POLICY = RunPlan.of(RunConfig.load(null, List.of("train.steps=500")));

  private static AutoscaleOptions parse(String... args) {
    TrainerCommand cmd = new TrainerCommand();
    new CommandLine(cmd).parseArgs(args);
    return cmd.autoscale;
  }

  @Test
  void offUnlessADeploymentIsNamed() {
    assertNull(parse().policy(ON_POLICY));
    assertNull(parse().start(null, null, System.out));
  }

  @Test
  void flagsBecomeThePolicy() {
    AutoscalePolicy p = parse("--autoscale-deployment", "run-sampler", "--autoscale-min", "2", "--autoscale-max",
        "6", "--autoscale-threshold", "0.3", "--autoscale-window-s", "30", "--autoscale-cooldown-s", "90")
        .policy(ON_POLICY);
    assertEquals(new AutoscalePolicy(2, 6, 0.3, Duration.ofSeconds(30), Duration.ofSeconds(90)), p);
  }

  @Test
  void impossibleSettingsAreRefused() {
    assertEquals("--autoscale-min (3) must be >= 1 and --autoscale-max (2) >= --autoscale-min",
        assertThrows(IllegalArgumentException.class, () -> parse("--autoscale-deployment", "s", "--autoscale-min",
            "3", "--autoscale-max", "2").policy(ON_POLICY)).getMessage());
    RunPlan offPolicy = RunPlan.of(RunConfig.load(null, List.of("train.steps=500", "onpolicy.fraction=0")));
    assertEquals("--autoscale-deployment needs an on-policy run (onpolicy.fraction > 0): an off-policy run asks no"
            + " sampler for rollouts",
        assertThrows(IllegalArgumentException.class, () -> parse("--autoscale-deployment", "s").policy(offPolicy))
            .getMessage());
  }
}
