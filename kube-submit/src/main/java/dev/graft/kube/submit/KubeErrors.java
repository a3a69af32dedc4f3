package dev.graft.kube.submit;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;

/** Turns the client's failures into messages a person can act on. */
final class KubeErrors {

  private KubeErrors() {}

  /**
   * The failure of {@code doing} (e.g. "create the trainer StatefulSet"), as an
   * {@link IllegalStateException} naming the API server, the HTTP code and the server's message.
   */
  static IllegalStateException describe(KubernetesClient client, String doing, KubernetesClientException e) {
    String server = client.getConfiguration().getMasterUrl();
    if (e.getCode() == 0 || causedByIo(e)) {
      return new IllegalStateException("cannot reach the Kubernetes API server at " + server + " to " + doing
          + ": " + rootMessage(e) + " (check the kubeconfig's current context, KUBECONFIG, or --kube-context)", e);
    }
    String why = switch (e.getCode()) {
      case 401 -> "not authenticated (401): the kubeconfig's credentials were refused";
      case 403 -> "forbidden (403): your account may not do this in the namespace";
      case 404 -> "not found (404)";
      case 409 -> "conflict (409): the object already exists or changed meanwhile";
      case 422 -> "invalid (422)";
      default -> "HTTP " + e.getCode();
    };
    String detail = e.getStatus() != null && e.getStatus().getMessage() != null ? ": " + e.getStatus().getMessage() : "";
    return new IllegalStateException("cannot " + doing + " on " + server + ": " + why + detail, e);
  }

  private static boolean causedByIo(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof IOException) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + (t.getMessage() != null ? ": " + t.getMessage() : "");
  }
}
