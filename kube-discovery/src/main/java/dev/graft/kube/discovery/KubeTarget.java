package dev.graft.kube.discovery;

import java.net.URI;
import java.util.regex.Pattern;

/**
 * A validated {@code k8s:///<service>.<namespace>:<port>} target: the ready endpoints of Service
 * {@code service} in {@code namespace}, on {@code port}. Without {@code .<namespace>} the
 * Kubernetes client's namespace is used (the pod's own, inside a cluster).
 *
 * @param service the Service name (an RFC 1035 label)
 * @param namespace the namespace (an RFC 1123 label), or null for the client's
 * @param port the port the replicas serve on; picks the EndpointSlice port (see {@link ReadyEndpoints})
 */
public record KubeTarget(String service, String namespace, int port) {

  /** The scheme of the targets this resolver serves. */
  public static final String SCHEME = "k8s";

  private static final Pattern SERVICE = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  public KubeTarget {
    if (service == null || !SERVICE.matcher(service).matches()) {
      throw new IllegalArgumentException("Service name '" + service + "' must be a DNS-1035 label"
          + " (lower-case letters, digits and '-', starting with a letter, at most 63 characters)");
    }
    if (namespace != null && !NAMESPACE.matcher(namespace).matches()) {
      throw new IllegalArgumentException("namespace '" + namespace + "' must be a DNS-1123 label"
          + " (lower-case letters, digits and '-', at most 63 characters)");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port (" + port + ") must be in 1..65535");
    }
  }

  /**
   * Parses a channel target URI.
   *
   * @throws IllegalArgumentException naming the target when it is not {@code k8s:///service[.namespace]:port}
   */
  public static KubeTarget parse(URI uri) {
    String text = String.valueOf(uri);
    if (uri == null || !SCHEME.equals(uri.getScheme())) {
      throw new IllegalArgumentException("target '" + text + "' is not a k8s:/// target");
    }
    String path = uri.getPath();
    if ((uri.getAuthority() != null && !uri.getAuthority().isEmpty()) || path == null || !path.startsWith("/")
        || uri.getQuery() != null || uri.getFragment() != null) {
      throw new IllegalArgumentException("target '" + text + "' must be k8s:///service.namespace:port"
          + " (three slashes, no authority, query or fragment)");
    }
    String address = path.substring(1);
    int colon = address.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("target '" + text + "' must be k8s:///service.namespace:port");
    }
    int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("target '" + text + "' has a port that is not a number");
    }
    String name = address.substring(0, colon);
    int dot = name.indexOf('.');
    try {
      return dot < 0 ? new KubeTarget(name, null, port)
          : new KubeTarget(name.substring(0, dot), name.substring(dot + 1), port);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("target '" + text + "': " + e.getMessage(), e);
    }
  }

  /** The authority calls carry: {@code service.namespace.svc}, the Service's in-cluster DNS name. */
  public String authority(String resolvedNamespace) {
    return service + "." + resolvedNamespace + ".svc";
  }

  @Override
  public String toString() {
    return SCHEME + ":///" + service + (namespace == null ? "" : "." + namespace) + ":" + port;
  }
}
