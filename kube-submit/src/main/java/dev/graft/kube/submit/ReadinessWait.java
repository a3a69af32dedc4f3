package dev.graft.kube.submit;

import dev.graft.kube.submit.RunNames.Role;
import dev.graft.service.Backoff.Sleeper;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Waits until a submitted run is ready — every teacher and sampler replica ready (the
 * Deployments' {@code readyReplicas}) and the trainer's pod Ready — printing a line whenever
 * the picture changes, until a deadline. Polls the API at a fixed interval on an injected clock
 * and sleeper.
 */
public final class ReadinessWait {

  private final KubernetesClient client;
  private final PrintStream out;
  private final Clock clock;
  private final Sleeper sleeper;
  private final Duration interval;

  public ReadinessWait(KubernetesClient client, PrintStream out, Clock clock, Sleeper sleeper, Duration interval) {
    this.client = client;
    this.out = out;
    this.clock = clock;
    this.sleeper = sleeper;
    this.interval = interval;
  }

  /**
   * Returns once the run is ready.
   *
   * @throws IllegalStateException naming what is not ready when {@code timeout} passes, or when the
   *     trainer's pod has failed
   */
  public void await(SubmitSpec spec, Duration timeout) throws InterruptedException {
    RunNames names = spec.names();
    Instant deadline = clock.instant().plus(timeout);
    String last = null;
    while (true) {
      List<String> waiting = new ArrayList<>();
      String progress;
      try {
        progress = String.join(", ", deployment(names, Role.TEACHER, spec.teachers(), waiting),
            deployment(names, Role.SAMPLER, spec.samplers(), waiting), trainer(names, waiting));
      } catch (KubernetesClientException e) {
        throw KubeErrors.describe(client, "read the state of run " + names.run(), e);
      }
      if (!progress.equals(last)) {
        out.println("waiting for run " + names.run() + ": " + progress);
        last = progress;
      }
      if (waiting.isEmpty()) {
        out.println("run " + names.run() + " is ready");
        return;
      }
      if (!clock.instant().isBefore(deadline)) {
        throw new IllegalStateException("run " + names.run() + " not ready after " + timeout.toSeconds()
            + " s (--ready-timeout-s): " + String.join(", ", waiting) + " not ready; `kubectl -n " + names.namespace()
            + " describe pods -l " + RunNames.INSTANCE_LABEL + "=" + names.run() + "` says why");
      }
      sleeper.sleep(interval);
    }
  }

  private String deployment(RunNames names, Role role, int wanted, List<String> waiting) {
    if (wanted == 0) {
      return role.component() + "s: none";
    }
    Deployment d = client.apps().deployments().inNamespace(names.namespace()).withName(names.of(role)).get();
    if (d == null) {
      throw new IllegalStateException("Deployment " + names.of(role) + " of run " + names.run()
          + " has disappeared from namespace " + names.namespace());
    }
    int ready = d.getStatus() == null || d.getStatus().getReadyReplicas() == null ? 0
        : d.getStatus().getReadyReplicas();
    int desired = d.getSpec().getReplicas() == null ? wanted : d.getSpec().getReplicas();
    if (ready < desired) {
      waiting.add(role.component() + "s");
    }
    return role.component() + "s " + ready + "/" + desired + " ready";
  }

  private String trainer(RunNames names, List<String> waiting) {
    Pod pod = client.pods().inNamespace(names.namespace()).withName(names.trainerPod()).get();
    if (pod == null) {
      waiting.add("trainer");
      return "trainer pod not created yet";
    }
    TrainerPods.requireNotFailed(pod);
    if (TrainerPods.ready(pod)) {
      return "trainer ready";
    }
    waiting.add("trainer");
    String why = pod.getStatus() == null ? "" : pod.getStatus().getPhase();
    if (pod.getStatus() != null && pod.getStatus().getContainerStatuses() != null) {
      for (ContainerStatus cs : pod.getStatus().getContainerStatuses()) {
        if (cs.getState() != null && cs.getState().getWaiting() != null) {
          why = cs.getState().getWaiting().getReason();
        }
      }
    }
    return "trainer not ready (" + (why == null || why.isEmpty() ? "Pending" : why) + ")";
  }
}
