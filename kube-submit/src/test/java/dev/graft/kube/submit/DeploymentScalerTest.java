package dev.graft.kube.submit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The scale subresource through the real client against fabric8's mock API server in CRUD mode. */
@EnableKubernetesMockClient(crud = true)
class DeploymentScalerTest {

  static KubernetesMockServer server;
  static KubernetesClient client;

  @Test
  void scale_changesTheDeploymentsReplicas_withAnUpdateOfTheScale() throws InterruptedException {
    client.resource(new DeploymentBuilder().withNewMetadata().withName("run-sampler").withNamespace("ns")
        .endMetadata().withNewSpec().withReplicas(2).withNewSelector().addToMatchLabels("a", "b").endSelector()
        .withNewTemplate().withNewMetadata().addToLabels("a", "b").endMetadata().withNewSpec().addNewContainer()
        .withName("sampler").withImage("graft").endContainer().endSpec().endTemplate().endSpec().build()).create();
    DeploymentScaler scaler = new DeploymentScaler(client, "ns", "run-sampler");
    assertEquals(2, scaler.replicas());

    scaler.scale(5);

    assertEquals(5, client.apps().deployments().inNamespace("ns").withName("run-sampler").get().getSpec()
        .getReplicas());
    assertEquals(5, scaler.replicas());
    // The verb the trainer's Role must grant besides get: update (a PUT), not patch.
    List<String> calls = new ArrayList<>();
    for (RecordedRequest r = server.takeRequest(100, TimeUnit.MILLISECONDS); r != null;
        r = server.takeRequest(100, TimeUnit.MILLISECONDS)) {
      calls.add(r.getMethod() + " " + r.getPath());
    }
    assertTrue(calls.contains("PUT /apis/apps/v1/namespaces/ns/deployments/run-sampler/scale"), calls.toString());
    assertTrue(calls.stream().noneMatch(c -> c.startsWith("PATCH")), calls.toString());
  }

  @Test
  void replicas_ofAMissingDeployment_isAClearError() {
    DeploymentScaler scaler = new DeploymentScaler(client, "ns", "gone-sampler");
    RuntimeException e = assertThrows(RuntimeException.class, scaler::replicas);
    assertTrue(e.getMessage().contains("deployment ns/gone-sampler"), e.getMessage());
  }
}
