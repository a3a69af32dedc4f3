package dev.graft.kube.submit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import org.junit.jupiter.api.Test;

/** The scale subresource through the real client against fabric8's mock API server in CRUD mode. */
@EnableKubernetesMockClient(crud = true)
class DeploymentScalerTest {

  static KubernetesMockServer server;
  static KubernetesClient client;

  @Test
  void scale_changesTheDeploymentsReplicas() {
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
  }

  @Test
  void replicas_ofAMissingDeployment_isAClearError() {
    DeploymentScaler scaler = new DeploymentScaler(client, "ns", "gone-sampler");
    RuntimeException e = assertThrows(RuntimeException.class, scaler::replicas);
    assertTrue(e.getMessage().contains("deployment ns/gone-sampler"), e.getMessage());
  }
}
