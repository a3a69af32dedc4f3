package dev.graft.kube.submit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The readiness wait against the CRUD mock API server: the test plays the cluster's controllers,
 * marking replicas ready between polls (the sleeper advances a fake clock and runs the next step).
 */
@EnableKubernetesMockClient(crud = true)
class ReadinessWaitTest {

  static KubernetesMockServer server;
  static KubernetesClient client;

  private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
  private final SamplerAutoscalerTest.FakeClock clock = new SamplerAutoscalerTest.FakeClock();

  private void markReady(String deployment, int ready) {
    Deployment d = client.apps().deployments().inNamespace("graft-test").withName(deployment).get();
    d.setStatus(new DeploymentStatusBuilder().withReplicas(d.getSpec().getReplicas()).withReadyReplicas(ready).build());
    client.resource(d).updateStatus();
  }

  /** The trainer's pod as the kubelet reports it: Ready, or waiting for {@code reason}. */
  private void trainerPod(boolean ready, String reason) {
    var pods = client.pods().inNamespace("graft-test");
    if (pods.withName("w-trainer-0").get() == null) {
      pods.resource(new PodBuilder().withNewMetadata().withName("w-trainer-0").endMetadata().withNewSpec()
          .addNewContainer().withName("trainer").withImage("graft").endContainer().endSpec().build()).create();
    }
    Pod pod = new PodBuilder(pods.withName("w-trainer-0").get()).withNewStatus()
        .withPhase(ready ? "Running" : "Pending")
        .addNewCondition().withType("Ready").withStatus(ready ? "True" : "False").endCondition()
        .addNewContainerStatus().withName("trainer").withNewState()
          .withNewWaiting().withReason(reason).endWaiting().endState().endContainerStatus()
        .endStatus().build();
    if (ready) {
      pod.getStatus().getContainerStatuses().get(0).getState().setWaiting(null);
    }
    pods.resource(pod).updateStatus();
  }

  @Test
  void await_returnsOnceEveryReplicaIsReady_printingProgress() throws InterruptedException {
    SubmitSpec spec = Specs.spec("w", 2, 1, SubmitSpec.Device.CPU, 0);
    new RunSubmitter(client, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))
        .submit(spec, false, Duration.ZERO);
    List<Runnable> cluster = new ArrayList<>(List.of(
        () -> trainerPod(false, "ContainerCreating"),
        () -> markReady("w-teacher", 1),
        () -> { markReady("w-teacher", 2); markReady("w-sampler", 1); },
        () -> trainerPod(true, null)));
    ReadinessWait wait = new ReadinessWait(client, new PrintStream(printed, true, StandardCharsets.UTF_8), clock,
        d -> {
          clock.advance(d);
          cluster.remove(0).run();
        }, Duration.ofSeconds(5));

    wait.await(spec, Duration.ofMinutes(5));

    assertEquals(List.of(
        "waiting for run w: teachers 0/2 ready, samplers 0/1 ready, trainer pod not created yet",
        "waiting for run w: teachers 0/2 ready, samplers 0/1 ready, trainer not ready (ContainerCreating)",
        "waiting for run w: teachers 1/2 ready, samplers 0/1 ready, trainer not ready (ContainerCreating)",
        "waiting for run w: teachers 2/2 ready, samplers 1/1 ready, trainer not ready (ContainerCreating)",
        "waiting for run w: teachers 2/2 ready, samplers 1/1 ready, trainer ready",
        "run w is ready"), printed.toString().lines().toList());
  }

  @Test
  void await_pastTheDeadline_namesWhatIsNotReady() {
    SubmitSpec spec = Specs.spec("late", 1, 1, SubmitSpec.Device.CPU, 0);
    new RunSubmitter(client, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))
        .submit(spec, false, Duration.ZERO);
    ReadinessWait wait = new ReadinessWait(client, new PrintStream(printed, true, StandardCharsets.UTF_8), clock,
        clock::advance, Duration.ofSeconds(5));

    IllegalStateException e = assertThrows(IllegalStateException.class, () -> wait.await(spec, Duration.ofSeconds(30)));
    assertEquals("run late not ready after 30 s (--ready-timeout-s): teachers, samplers, trainer not ready;"
        + " `kubectl -n graft-test describe pods -l app.kubernetes.io/instance=late` says why", e.getMessage());
  }
}
