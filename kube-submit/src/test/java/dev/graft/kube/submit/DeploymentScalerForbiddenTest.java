package dev.graft.kube.submit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** An API server that answers 403, as RBAC does for a service account without deployments/scale. */
@EnableKubernetesMockClient
class DeploymentScalerForbiddenTest {

  static KubernetesMockServer server;
  static KubernetesClient client;

  @Test
  void autoscaler_forbiddenByRbac_disablesItselfWithTheServersMessage() {
    String denied = "deployments.apps \"run-sampler\" is forbidden: User \"system:serviceaccount:ns:default\""
        + " cannot get resource \"deployments/scale\" in API group \"apps\" in the namespace \"ns\"";
    server.expect().get().withPath("/apis/apps/v1/namespaces/ns/deployments/run-sampler/scale")
        .andReturn(403, new StatusBuilder().withStatus("Failure").withCode(403).withReason("Forbidden")
            .withMessage(denied).build())
        .always();
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    SamplerAutoscaler a = new SamplerAutoscaler(
        new AutoscalePolicy(1, 4, 0.2, Duration.ofSeconds(60), Duration.ZERO), () -> 0, () -> false,
        new DeploymentScaler(client, "ns", "run-sampler"), Clock.systemUTC(),
        new PrintStream(printed, true, StandardCharsets.UTF_8));

    assertEquals(SamplerAutoscaler.Action.DISABLED, a.tick().action());
    assertEquals(SamplerAutoscaler.Action.DISABLED, a.tick().action());

    String out = printed.toString();
    assertEquals(1, out.lines().count(), out);
    assertTrue(out.startsWith("sampler autoscaler disabled: the trainer may not read the scale of deployment"
        + " ns/run-sampler (403 Forbidden: " + denied + ")"), out);
  }
}
