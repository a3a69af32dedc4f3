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
 * The pod of each role: one {@code graft} container with the role's arguments, gRPC probes on its
 * serving port (a startup probe that allows ten minutes for a model load, then readiness and
 * liveness), requests and limits ({@code nvidia.com/gpu: 1} on a GPU run), and a locked-down
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
    PodSpecBuilder pod = new PodSpecBuilder()
        .withAutomountServiceAccountToken(role == Role.TRAINER && spec.autoscale())
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
            .withEnv(new EnvVar("DJL_CACHE_DIR", CACHE_DIR + "/djl", null),
                new EnvVar("ENGINE_CACHE_DIR", CACHE_DIR + "/djl", null))
            .withStartupProbe(grpcProbe(role, 5, 120))
            .withReadinessProbe(grpcProbe(role, 5, 3))
            .withLivenessProbe(grpcProbe(role, 10, 6))
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
    if (role == Role.TRAINER) {
      pod.addToVolumes(new VolumeBuilder().withName("config")
          .withNewConfigMap().withName(names.configMap()).endConfigMap().build());
      if (spec.autoscale()) {
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

  /** A native gRPC health check of the role's serving port (grpc.health.v1, overall status). */
  private static Probe grpcProbe(Role role, int periodSeconds, int failureThreshold) {
    return new ProbeBuilder().withNewGrpc().withPort(role.grpcPort()).endGrpc()
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
