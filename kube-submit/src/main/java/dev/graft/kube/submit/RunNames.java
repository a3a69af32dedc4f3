package dev.graft.kube.submit;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The names and labels of one run's objects in one namespace: the trainer StatefulSet
 * {@code RUN-trainer} (its pod is {@code RUN-trainer-0}), the Deployments {@code RUN-teacher} and
 * {@code RUN-sampler}, a headless Service of the same name for each role, and the ConfigMap
 * {@code RUN-config}. Every object carries {@code app.kubernetes.io/name=graft},
 * {@code app.kubernetes.io/instance=RUN} and {@code app.kubernetes.io/component=<role>}.
 */
public record RunNames(String namespace, String run) {

  /** A DNS-1123 label: what Kubernetes accepts as a namespace and as a Service name. */
  private static final Pattern DNS_1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");

  /**
   * Longest run name: {@code RUN-trainer} must leave room in 52 characters for the
   * StatefulSet's {@code controller-revision-hash} label on its pods.
   */
  public static final int MAX_RUN_LENGTH = 40;

  public static final String NAME_LABEL = "app.kubernetes.io/name";
  public static final String INSTANCE_LABEL = "app.kubernetes.io/instance";
  public static final String COMPONENT_LABEL = "app.kubernetes.io/component";
  public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";

  /** The three roles, by their component label. */
  public enum Role {
    TEACHER("teacher", 50051, 9464),
    SAMPLER("sampler", 50052, 9465),
    TRAINER("trainer", 50053, 9466);

    private final String component;
    private final int grpcPort;
    private final int metricsPort;

    Role(String component, int grpcPort, int metricsPort) {
      this.component = component;
      this.grpcPort = grpcPort;
      this.metricsPort = metricsPort;
    }

    public String component() {
      return component;
    }

    /** The role's default gRPC port (the same as {@code graft teacher|sampler|trainer} use). */
    public int grpcPort() {
      return grpcPort;
    }

    /** The role's default Prometheus port. */
    public int metricsPort() {
      return metricsPort;
    }
  }

  /**
   * @throws IllegalArgumentException when either name is not a DNS-1123 label, or the run name is
   *     longer than {@value #MAX_RUN_LENGTH} characters
   */
  public RunNames {
    requireLabel("namespace", namespace, 63);
    requireLabel("run name", run, MAX_RUN_LENGTH);
  }

  private static void requireLabel(String what, String value, int max) {
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException("the " + what + " is missing");
    }
    if (value.length() > max || !DNS_1123_LABEL.matcher(value).matches()) {
      throw new IllegalArgumentException("the " + what + " '" + value + "' must be a DNS-1123 label: at most " + max
          + " characters of a-z, 0-9 and '-', starting and ending with a letter or digit");
    }
  }

  /** The object name of {@code role}'s workload and of its headless Service. */
  public String of(Role role) {
    return run + "-" + role.component();
  }

  /** The trainer's only pod. */
  public String trainerPod() {
    return of(Role.TRAINER) + "-0";
  }

  public String configMap() {
    return run + "-config";
  }

  /** The trainer's ServiceAccount (its Role and RoleBinding share the name): endpoint discovery and autoscaling. */
  public String serviceAccount() {
    return run + "-trainer";
  }

  /**
   * {@code k8s:///service.namespace:port}: the ready replicas of {@code role}'s Service, followed
   * through the Kubernetes API and called round-robin over one channel. Its calls carry the
   * authority {@link #serviceHost}.
   */
  public String discoveryTarget(Role role) {
    return "k8s:///" + of(role) + "." + namespace + ":" + role.grpcPort();
  }

  /** {@code service.namespace.svc}: the host name calls through {@link #discoveryTarget} verify. */
  public String serviceHost(Role role) {
    return of(role) + "." + namespace + ".svc";
  }

  /** The Secret holding {@code role}'s certificate, key and CA: {@code PREFIX-role}. */
  public static String tlsSecret(String prefix, Role role) {
    return prefix + "-" + role.component();
  }

  /** {@code host:port} of {@code role}'s headless Service inside the cluster. */
  public String serviceAddress(Role role) {
    return of(role) + "." + namespace + ".svc.cluster.local:" + role.grpcPort();
  }

  /** Every label of {@code role}'s objects and pods. */
  public Map<String, String> labels(Role role) {
    return sorted(Map.of(NAME_LABEL, "graft", INSTANCE_LABEL, run, COMPONENT_LABEL, role.component(),
        MANAGED_BY_LABEL, "graft-submit"));
  }

  /** The labels that select {@code role}'s pods (stable across versions, so no managed-by). */
  public Map<String, String> selector(Role role) {
    return sorted(Map.of(NAME_LABEL, "graft", INSTANCE_LABEL, run, COMPONENT_LABEL, role.component()));
  }

  /** The labels every object of the run carries. */
  public Map<String, String> runSelector() {
    return sorted(Map.of(NAME_LABEL, "graft", INSTANCE_LABEL, run));
  }

  /** In key order, so that printed objects read the same every time. */
  private static Map<String, String> sorted(Map<String, String> labels) {
    return Collections.unmodifiableMap(new TreeMap<>(labels));
  }
}
