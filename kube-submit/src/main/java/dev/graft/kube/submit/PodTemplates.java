package dev.graft.kube.submit;

import dev.graft.kube.submit.RunNames.Role;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The pod of each role: one {@code graft} container with the role's arguments; mutual TLS with the
 * role's certificate from its Secret, mounted as a directory so that a renewed Secret reaches the
 * pod (or, on a trusted cluster, {@code GRAFT_PLAINTEXT=true}); gRPC probes on the plaintext health
 * port under TLS, since the kubelet's probes cannot speak TLS, else on the serving port (a startup
 * probe that allows ten minutes for a model load, then readiness and liveness), requests and limits ({@code nvidia.com/gpu: 1} on a GPU run), and a locked-down
 * security context — non-root, no privilege escalation, no capabilities, seccomp RuntimeDefault,
 * a read-only root filesystem with emptyDir volumes for {@code /tmp} and the engine's caches.
 */
final class PodTemplates {

  /** Writable scratch space: the JVM's and the engine's temporary files. */
  static final String TMP_DIR = "/tmp";
  /** Writable caches: DJL extracts the PyTorch native library here. */
  static final String CACHE_DIR = "/var/cache/graft";
  /** The non-root user and group the containers run as: the image's user (launcher/pom.xml, k8s/image/Dockerfile). */
  static final long USER_ID = 65532;
  /** Seconds a role has after SIGTERM to finish in-flight work (the trainer: its step and checkpoint). */
  static final long GRACE_SECONDS = 120;
  /** The trainer's {@code --stop-grace-s}: it gives up waiting for its step before the kubelet's SIGKILL. */
  static final long TRAINER_STOP_GRACE_SECONDS = 90;
  /** Under TLS: gRPC health alone, without TLS, for the kubelet's probes. */
  static final int HEALTH_PORT = 8081;
  /** Where the role's Secret (tls.crt, tls.key, ca.crt) is mounted. */
  static final String TLS_DIR = "/etc/graft-tls";
  /** Owner and group may read the certificate files (the group is the pod's fsGroup); nobody else. */
  static final int TLS_FILE_MODE = 0440;
  /** The client identities each role's services accept: certificate CNs. */
  static final String TRAINER_IDENTITY = "trainer";
  static final String SAMPLER_IDENTITY = "sampler";
  static final String OPERATOR_IDENTITY = "operator";

  private final SubmitSpec spec;

  PodTemplates(SubmitSpec spec) {
    this.spec = spec;
  }

  PodTemplateSpec template(Role role, List<String> args, List<VolumeMount> extraMounts) {
    RunNames names = spec.names();
    List<VolumeMount> mounts = new ArrayList<>(List.of(
        new VolumeMountBuilder().withName("tmp").withMountPath(TMP_DIR).build(),
        new VolumeMountBuilder().withName("cache").withMountPath(CACHE_DIR).build()));
    mounts.addAll(extraMounts);
    List<EnvVar> env = new ArrayList<>(List.of(new EnvVar("DJL_CACHE_DIR", CACHE_DIR + "/djl", null),
        new EnvVar("ENGINE_CACHE_DIR", CACHE_DIR + "/djl", null)));
    env.addAll(securityEnv(role));
    if (spec.tls()) {
      mounts.add(new VolumeMountBuilder().withName("tls").withMountPath(TLS_DIR).withReadOnly().build());
    }
    int probePort = spec.tls() ? HEALTH_PORT : role.grpcPort();
    PodSpecBuilder pod = new PodSpecBuilder()
        .withAutomountServiceAccountToken(role == Role.TRAINER && trainerAccount())
        .withTerminationGracePeriodSeconds(GRACE_SECONDS)
        .withNewSecurityContext()
          .withRunAsNonRoot(true)
          .withRunAsUser(USER_ID)
          .withRunAsGroup(USER_ID)
          .withFsGroup(USER_ID)
          .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
        .endSecurityContext()
        .addToContainers(new ContainerBuilder()
            .withName(role.component())
            .withImage(spec.image())
            .withArgs(args)
            // A failing role's last log lines become its termination message, which submit reports.
            .withTerminationMessagePolicy("FallbackToLogsOnError")
            .addNewPort().withName("grpc").withContainerPort(role.grpcPort()).withProtocol("TCP").endPort()
            .addNewPort().withName("metrics").withContainerPort(role.metricsPort()).withProtocol("TCP").endPort()
            .withEnv(env)
            .withStartupProbe(grpcProbe(probePort, 5, 120))
            .withReadinessProbe(grpcProbe(probePort, 5, 3))
            .withLivenessProbe(grpcProbe(probePort, 10, 6))
            .withResources(resources())
            .withNewSecurityContext()
              .withRunAsNonRoot(true)
              .withAllowPrivilegeEscalation(false)
              .withReadOnlyRootFilesystem(true)
              .withNewCapabilities().withDrop("ALL").endCapabilities()
            .endSecurityContext()
            .withVolumeMounts(mounts)
            .build())
        .addToVolumes(new VolumeBuilder().withName("tmp").withNewEmptyDir().endEmptyDir().build(),
            new VolumeBuilder().withName("cache").withNewEmptyDir().endEmptyDir().build());
    if (spec.tls()) {
      pod.editFirstContainer()
          .addNewPort().withName("health").withContainerPort(HEALTH_PORT).withProtocol("TCP").endPort()
          .endContainer();
      pod.addToVolumes(new VolumeBuilder().withName("tls")
          .withNewSecret().withSecretName(RunNames.tlsSecret(spec.tlsSecretPrefix(), role))
            .withDefaultMode(TLS_FILE_MODE).endSecret()
          .build());
    }
    if (role == Role.TRAINER) {
      pod.addToVolumes(new VolumeBuilder().withName("config")
          .withNewConfigMap().withName(names.configMap()).endConfigMap().build());
      if (trainerAccount()) {
        pod.withServiceAccountName(names.serviceAccount());
      }
    }
    if (spec.device() == SubmitSpec.Device.GPU) {
      pod.addNewToleration().withKey(RunObjects.GPU_RESOURCE).withOperator("Exists").withEffect("NoSchedule")
          .endToleration();
    }
    return new PodTemplateSpecBuilder()
        .withNewMetadata()
          .withLabels(names.labels(role))
          .withAnnotations(new TreeMap<>(Map.of("prometheus.io/scrape", "true",
              "prometheus.io/port", Integer.toString(role.metricsPort()), "prometheus.io/path", "/metrics")))
        .endMetadata()
        .withSpec(pod.build())
        .build();
  }

  /** Whether the trainer has its own ServiceAccount: to follow its peers' EndpointSlices, and to autoscale. */
  private boolean trainerAccount() {
    return spec.discovery() || spec.autoscale();
  }

  /**
   * How the role secures its server and channels: mutual TLS with its Secret's files, the
   * identities allowed to call it (teachers and samplers: the trainer; the trainer: samplers and
   * the operator's {@code graft submit}/{@code graft status}) and the plaintext health port; or
   * plaintext.
   */
  private List<EnvVar> securityEnv(Role role) {
    if (!spec.tls()) {
      return List.of(new EnvVar("GRAFT_PLAINTEXT", "true", null));
    }
    String allowed = role == Role.TRAINER ? SAMPLER_IDENTITY + "," + OPERATOR_IDENTITY : TRAINER_IDENTITY;
    return List.of(new EnvVar("GRAFT_TLS_CERT", TLS_DIR + "/tls.crt", null),
        new EnvVar("GRAFT_TLS_KEY", TLS_DIR + "/tls.key", null),
        new EnvVar("GRAFT_TLS_CA", TLS_DIR + "/ca.crt", null),
        new EnvVar("GRAFT_TLS_CLIENT_AUTH", "require", null),
        new EnvVar("GRAFT_TLS_ALLOWED_CLIENTS", allowed, null),
        new EnvVar("GRAFT_PLAINTEXT_HEALTH_PORT", Integer.toString(HEALTH_PORT), null));
  }

  /** A native gRPC health check (grpc.health.v1, overall status) of {@code port}. */
  private static Probe grpcProbe(int port, int periodSeconds, int failureThreshold) {
    return new ProbeBuilder().withNewGrpc().withPort(port).endGrpc()
        .withPeriodSeconds(periodSeconds).withFailureThreshold(failureThreshold).withTimeoutSeconds(3)
        .build();
  }

  private ResourceRequirements resources() {
    ResourceRequirementsBuilder b = new ResourceRequirementsBuilder()
        .addToRequests("cpu", new Quantity("2"))
        .addToRequests("memory", new Quantity("8Gi"))
        .addToLimits("memory", new Quantity("8Gi"));
    if (spec.device() == SubmitSpec.Device.GPU) {
      b.addToLimits(RunObjects.GPU_RESOURCE, new Quantity("1"));
    }
    return b.build();
  }
}
