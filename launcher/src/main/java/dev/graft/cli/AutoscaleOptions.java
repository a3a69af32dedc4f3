package dev.graft.cli;

import dev.graft.kube.submit.AutoscalePolicy;
import dev.graft.kube.submit.DeploymentScaler;
import dev.graft.kube.submit.SamplerAutoscaler;
import dev.graft.kube.submit.TrainerWaiting;
import dev.graft.trainer.plan.RunPlan;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import picocli.CommandLine.Option;

/** {@code graft trainer}'s sampler autoscaler: off unless {@code --autoscale-deployment} names the Deployment. */
final class AutoscaleOptions {

  /** How often the autoscaler samples the trainer's waiting. */
  static final Duration TICK = Duration.ofSeconds(10);

  @Option(names = "--autoscale-deployment", paramLabel = "NAME",
      description = {"Scale this sampler Deployment (its /scale subresource, in the trainer's namespace) when the "
          + "trainer waits on rollouts; off when not given. Needs get and update on deployments/scale; a 403 turns "
          + "the autoscaler off with a message (the run goes on)."})
  String deployment;

  @Option(names = "--autoscale-namespace", paramLabel = "NS",
      description = "The Deployment's namespace (default: the trainer pod's own, from its service account).")
  String namespace;

  @Option(names = "--autoscale-min", paramLabel = "N", defaultValue = "1",
      description = "Fewest sampler replicas (default: ${DEFAULT-VALUE}).")
  int min;

  @Option(names = "--autoscale-max", paramLabel = "N", defaultValue = "8",
      description = "Most sampler replicas (default: ${DEFAULT-VALUE}).")
  int max;

  @Option(names = "--autoscale-threshold", paramLabel = "FRACTION", defaultValue = "0.2",
      description = "Scale up when the trainer waited on its batches more than this fraction of the window "
          + "(default: ${DEFAULT-VALUE}).")
  double threshold;

  @Option(names = "--autoscale-window-s", paramLabel = "SECONDS", defaultValue = "60",
      description = "The window the waiting fraction is measured over (default: ${DEFAULT-VALUE}).")
  long windowSeconds;

  @Option(names = "--autoscale-cooldown-s", paramLabel = "SECONDS", defaultValue = "120",
      description = "Least time between two changes of the replica count (default: ${DEFAULT-VALUE}).")
  long cooldownSeconds;

  /** The autoscaler's bounds, checked; null when it is off. */
  AutoscalePolicy policy(RunPlan plan) {
    if (deployment == null) {
      return null;
    }
    if (!plan.onpolicy().enabled()) {
      throw new IllegalArgumentException("--autoscale-deployment needs an on-policy run (onpolicy.fraction > 0):"
          + " an off-policy run asks no sampler for rollouts");
    }
    return new AutoscalePolicy(min, max, threshold, Duration.ofSeconds(windowSeconds),
        Duration.ofSeconds(cooldownSeconds));
  }

  /**
   * Starts the autoscaler on {@code waiting}; closing the result stops it and its API client.
   * Returns null when it is off.
   */
  AutoCloseable start(AutoscalePolicy policy, TrainerWaiting waiting, PrintStream log) {
    if (policy == null) {
      return null;
    }
    KubernetesClient client = new KubernetesClientBuilder().build();
    String ns = namespace != null ? namespace : client.getNamespace();
    if (ns == null) {
      client.close();
      throw new IllegalArgumentException("--autoscale-deployment " + deployment + ": no namespace (not in a pod);"
          + " give --autoscale-namespace");
    }
    SamplerAutoscaler autoscaler = new SamplerAutoscaler(policy, waiting, waiting::waitingForTeachers,
        new DeploymentScaler(client, ns, deployment), Clock.systemUTC(), log);
    autoscaler.start(TICK);
    log.printf("sampler autoscaler: deployment %s/%s between %d and %d replicas, above %.0f%% waiting over %d s%n",
        ns, deployment, policy.min(), policy.max(), 100 * policy.threshold(), policy.window().toSeconds());
    return () -> {
      autoscaler.close();
      client.close();
    };
  }
}
