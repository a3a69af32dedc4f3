package dev.graft.kube.submit;

import io.fabric8.kubernetes.api.model.autoscaling.v1.Scale;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;

/**
 * A Deployment's replica count through its {@code /scale} subresource — the least a role needs
 * to be allowed ({@code get} and {@code update} on {@code deployments/scale}: the client replaces the scale with a PUT), and
 * what a HorizontalPodAutoscaler uses.
 */
public final class DeploymentScaler implements ReplicaScaler {

  private final KubernetesClient client;
  private final String namespace;
  private final String name;

  public DeploymentScaler(KubernetesClient client, String namespace, String name) {
    this.client = client;
    this.namespace = namespace;
    this.name = name;
  }

  @Override
  public String target() {
    return "deployment " + namespace + "/" + name;
  }

  @Override
  public int replicas() {
    try {
      Scale s = client.apps().deployments().inNamespace(namespace).withName(name).scale();
      if (s == null) {
        throw new IllegalStateException("no " + target() + " to scale");
      }
      return s.getSpec() == null || s.getSpec().getReplicas() == null ? 0 : s.getSpec().getReplicas();
    } catch (KubernetesClientException e) {
      throw translate("read the scale of", e);
    }
  }

  @Override
  public void scale(int replicas) {
    try {
      client.apps().deployments().inNamespace(namespace).withName(name).scale(replicas);
    } catch (KubernetesClientException e) {
      throw translate("scale", e);
    }
  }

  private RuntimeException translate(String doing, KubernetesClientException e) {
    String detail = e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage()
        : e.getMessage();
    if (e.getCode() == HttpURLConnection.HTTP_FORBIDDEN) {
      return new Forbidden("may not " + doing + " " + target() + " (403 Forbidden: " + detail + ")", e);
    }
    return new IllegalStateException("cannot " + doing + " " + target() + " (HTTP " + e.getCode() + "): " + detail, e);
  }
}
