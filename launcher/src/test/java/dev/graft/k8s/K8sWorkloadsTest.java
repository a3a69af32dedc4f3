package dev.graft.k8s;

import static dev.graft.k8s.RenderedManifests.containerPort;
import static dev.graft.k8s.RenderedManifests.env;
import static dev.graft.k8s.RenderedManifests.onlyContainer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.k8s.RenderedManifests.Workload;
import dev.graft.proto.v1.SamplerServiceGrpc;
import dev.graft.proto.v1.TeacherServiceGrpc;
import dev.graft.service.HostPort;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.server.TrainerServer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The workloads of every overlay of {@code k8s/}, rendered with {@code kubectl kustomize} and parsed
 * into fabric8's typed objects, checked against what the roles do: gRPC probes on the port each role
 * serves and for the health names it reports, requests and limits, GPUs only in the gpu overlay,
 * nothing as root on a read-only root filesystem, headless Services, grace periods that outlast the
 * drain, and a run config the trainer accepts whose endpoints are the Services. Skipped where
 * kubectl is not installed.
 */
class K8sWorkloadsTest {

  private static final List<String> ROLES = List.of("teacher", "sampler", "trainer");
  /** The service name each role's health reports (besides ""), from the code that registers it. */
  private static final Map<String, String> HEALTH_NAME = Map.of(
      "teacher", TeacherServiceGrpc.SERVICE_NAME,
      "sampler", SamplerServiceGrpc.SERVICE_NAME,
      "trainer", TrainerServer.SERVICE);
  /** Each role's metrics port (docs/kubernetes.md, Metrics): the roles' defaults. */
  private static final Map<String, Integer> METRICS_PORT = Map.of("teacher", 9464, "sampler", 9465, "trainer", 9466);

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void overlay_rendersTheRunsObjects(String overlay) {
    RenderedManifests m = RenderedManifests.of(overlay);
    Set<String> names = m.objects().stream()
        .map(o -> o.getKind() + "/" + o.getMetadata().getName().replaceFirst("^graft-run-[a-z0-9]+$", "graft-run-HASH"))
        .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(new TreeSet<>(List.of("ConfigMap/graft-run-HASH",
        "Deployment/graft-sampler", "Deployment/graft-teacher", "StatefulSet/graft-trainer",
        "NetworkPolicy/graft-sampler", "NetworkPolicy/graft-teacher", "NetworkPolicy/graft-trainer",
        "PersistentVolumeClaim/graft-data",
        "PodDisruptionBudget/graft-sampler", "PodDisruptionBudget/graft-teacher",
        "Role/graft-trainer", "RoleBinding/graft-trainer",
        "Service/graft-sampler", "Service/graft-teacher", "Service/graft-trainer",
        "ServiceAccount/graft-replica", "ServiceAccount/graft-trainer")), names);
    String namespace = overlay.equals("gpu") ? "graft" : "graft-dev";
    m.objects().forEach(o -> assertEquals(namespace, o.getMetadata().getNamespace(), o.getKind() + " " + o.getMetadata().getName()));
    for (Workload w : m.workloads()) {
      assertEquals("graft", w.labels().get("app.kubernetes.io/name"), w.name());
      assertTrue(ROLES.contains(w.component()), w.name() + " has component " + w.component());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void everyContainer_hasGrpcStartupReadinessAndLivenessProbes_onThePortItsRoleServes(String overlay) throws Exception {
    RenderedManifests m = RenderedManifests.of(overlay);
    RunPlan plan = runPlan(m);
    for (Workload w : m.workloads()) {
      Container c = onlyContainer(w);
      int grpc = containerPort(c, "grpc");
      int metrics = containerPort(c, "metrics");
      int health = containerPort(c, "health");
      String role = w.component();
      assertEquals(health, Integer.parseInt(env(c, "GRAFT_PLAINTEXT_HEALTH_PORT")),
          w.name() + " serves plaintext health on its container port 'health'");
      assertTrue(health != grpc && health != metrics, w.name() + ": the health port is a port of its own");
      switch (role) {
        case "teacher" -> {
          assertEquals(grpc, Integer.parseInt(env(c, "GRAFT_TEACHER_PORT")));
          assertEquals(metrics, Integer.parseInt(env(c, "GRAFT_TEACHER_METRICS_PORT")));
        }
        case "sampler" -> {
          assertEquals(grpc, Integer.parseInt(env(c, "GRAFT_SAMPLER_PORT")));
          assertEquals(metrics, Integer.parseInt(env(c, "GRAFT_SAMPLER_METRICS_PORT")));
        }
        default -> {
          assertEquals(grpc, plan.serverPort(), "the trainer serves on the run config's server.port");
          assertEquals(metrics, plan.metricsPort(), "the trainer's metrics on server.metrics_port");
        }
      }
      assertEquals(List.of(role), c.getArgs(), w.name() + " runs its role");
      assertEquals(METRICS_PORT.get(role), metrics, w.name() + " serves metrics on its role's port");
      Map<String, Probe> probes = new TreeMap<>();
      probes.put("startup", c.getStartupProbe());
      probes.put("readiness", c.getReadinessProbe());
      probes.put("liveness", c.getLivenessProbe());
      for (var e : probes.entrySet()) {
        String what = overlay + " " + w.name() + " " + e.getKey() + " probe";
        Probe p = e.getValue();
        assertNotNull(p, what);
        assertNotNull(p.getGrpc(), what + " is of type grpc");
        assertNull(p.getHttpGet(), what);
        assertNull(p.getTcpSocket(), what);
        assertNull(p.getExec(), what);
        assertEquals(health, p.getGrpc().getPort(),
            what + " targets the plaintext health port (the kubelet's gRPC probes cannot speak TLS)");
        String service = p.getGrpc().getService() == null ? "" : p.getGrpc().getService();
        assertTrue(service.isEmpty() || service.equals(HEALTH_NAME.get(role)),
            what + " asks for '" + service + "', a name the role's health does not report");
      }
      assertEquals(HEALTH_NAME.get(role), c.getReadinessProbe().getGrpc().getService(),
          w.name() + " is ready when its own service is");
      assertTrue(c.getStartupProbe().getPeriodSeconds() * c.getStartupProbe().getFailureThreshold() >= 300,
          w.name() + ": the startup probe allows at least 5 min for a slow model load");
      Map<String, String> annotations = w.template().getMetadata().getAnnotations();
      assertEquals("true", annotations.get("prometheus.io/scrape"), w.name());
      assertEquals(String.valueOf(metrics), annotations.get("prometheus.io/port"), w.name());
      assertEquals("/metrics", annotations.get("prometheus.io/path"), w.name());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void everyContainer_requestsAndLimitsCpuAndMemory_withinTheLimits(String overlay) {
    for (Workload w : RenderedManifests.of(overlay).workloads()) {
      Container c = onlyContainer(w);
      Map<String, Quantity> requests = c.getResources().getRequests();
      Map<String, Quantity> limits = c.getResources().getLimits();
      for (String r : List.of("cpu", "memory")) {
        assertNotNull(requests.get(r), overlay + " " + w.name() + " requests " + r);
        assertNotNull(limits.get(r), overlay + " " + w.name() + " limits " + r);
        assertTrue(Quantity.getAmountInBytes(requests.get(r)).compareTo(Quantity.getAmountInBytes(limits.get(r))) <= 0,
            overlay + " " + w.name() + ": " + r + " request " + requests.get(r) + " above its limit " + limits.get(r));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void gpus_onlyInTheGpuOverlay_oneForEveryRole_onGpuNodes(String overlay) {
    boolean gpu = overlay.equals("gpu");
    for (Workload w : RenderedManifests.of(overlay).workloads()) {
      Container c = onlyContainer(w);
      Quantity limit = c.getResources().getLimits().get("nvidia.com/gpu");
      PodSpec pod = w.template().getSpec();
      if (gpu) {
        assertNotNull(limit, w.name() + " has an nvidia.com/gpu limit");
        assertEquals("1", limit.toString(), w.name());
        assertEquals("gpu", env(c, "GRAFT_DEVICE"), w.name() + " computes on its GPU");
        assertEquals("true", pod.getNodeSelector().get("nvidia.com/gpu.present"), w.name());
        assertTrue(pod.getTolerations().stream().anyMatch(t -> "nvidia.com/gpu".equals(t.getKey())
            && "NoSchedule".equals(t.getEffect())), w.name() + " tolerates the GPU nodes' taint");
      } else {
        assertNull(limit, w.name());
        assertEquals("cpu", env(c, "GRAFT_DEVICE"), w.name());
        assertTrue(pod.getNodeSelector() == null || pod.getNodeSelector().isEmpty(), w.name());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void nothingRunsAsRoot_orWithPrivilege_andTheRootFilesystemIsReadOnly(String overlay) {
    for (Workload w : RenderedManifests.of(overlay).workloads()) {
      String where = overlay + " " + w.name();
      PodSecurityContext pod = w.template().getSpec().getSecurityContext();
      assertNotNull(pod, where);
      assertEquals(Boolean.TRUE, pod.getRunAsNonRoot(), where);
      assertTrue(pod.getRunAsUser() != null && pod.getRunAsUser() > 0, where + " runs as uid " + pod.getRunAsUser());
      assertEquals("RuntimeDefault", pod.getSeccompProfile().getType(), where);
      for (Container c : w.template().getSpec().getContainers()) {
        SecurityContext sc = c.getSecurityContext();
        assertNotNull(sc, where);
        assertEquals(Boolean.TRUE, sc.getRunAsNonRoot(), where);
        assertTrue(sc.getRunAsUser() == null || sc.getRunAsUser() > 0, where);
        assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation(), where);
        assertTrue(sc.getPrivileged() == null || !sc.getPrivileged(), where);
        assertEquals(Boolean.TRUE, sc.getReadOnlyRootFilesystem(), where);
        assertEquals(List.of("ALL"), sc.getCapabilities().getDrop(), where);
        assertTrue(sc.getCapabilities().getAdd() == null || sc.getCapabilities().getAdd().isEmpty(), where);
        assertEquals("RuntimeDefault", sc.getSeccompProfile().getType(), where);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void everyPod_writesOnlyToItsVolumes_tmpTheNativeCacheAndItsHome(String overlay) {
    RenderedManifests m = RenderedManifests.of(overlay);
    Set<String> claims = m.all(PersistentVolumeClaim.class).stream().map(p -> p.getMetadata().getName())
        .collect(Collectors.toSet());
    for (Workload w : m.workloads()) {
      Container c = onlyContainer(w);
      Map<String, Volume> volumes = w.template().getSpec().getVolumes().stream()
          .collect(Collectors.toMap(Volume::getName, v -> v));
      Set<String> templates = w.kind().equals("StatefulSet")
          ? m.named(StatefulSet.class, w.name()).getSpec().getVolumeClaimTemplates().stream()
              .map(t -> t.getMetadata().getName()).collect(Collectors.toSet())
          : Set.of();
      Map<String, VolumeMount> mounts = new TreeMap<>();
      for (VolumeMount vm : c.getVolumeMounts()) {
        assertTrue(volumes.containsKey(vm.getName()) || templates.contains(vm.getName()),
            w.name() + " mounts an undeclared volume " + vm.getName());
        Volume v = volumes.get(vm.getName());
        if (v != null && v.getPersistentVolumeClaim() != null) {
          assertTrue(claims.contains(v.getPersistentVolumeClaim().getClaimName()), w.name() + " claims "
              + v.getPersistentVolumeClaim().getClaimName() + ", which is not rendered");
        }
        mounts.put(vm.getMountPath(), vm);
      }
      for (String scratch : List.of("/tmp", "/var/cache/djl")) {
        VolumeMount vm = mounts.get(scratch);
        assertNotNull(vm, w.name() + " has no writable " + scratch);
        assertNotNull(volumes.get(vm.getName()).getEmptyDir(), w.name() + ": " + scratch + " is an emptyDir");
        assertFalse(Boolean.TRUE.equals(vm.getReadOnly()), w.name() + ": " + scratch);
      }
      assertNotNull(mounts.get("/var/lib/graft"), w.name() + " has a home (GRAFT_HOME)");
      if (w.component().equals("teacher")) {
        assertEquals(Boolean.TRUE, mounts.get("/var/lib/graft").getReadOnly(), "teachers read the data volume only");
      }
      if (w.component().equals("trainer")) {
        assertTrue(templates.contains(mounts.get("/var/lib/graft").getName()),
            "the trainer's home is its own persistent volume (checkpoints, published weights)");
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void replicas_drainWithinTheirGracePeriod(String overlay) {
    RenderedManifests m = RenderedManifests.of(overlay);
    for (String role : List.of("teacher", "sampler")) {
      Workload w = m.workload(role);
      Container c = onlyContainer(w);
      long grace = Long.parseLong(env(c, "GRAFT_" + role.toUpperCase() + "_SHUTDOWN_GRACE_S"));
      long preStop = c.getLifecycle().getPreStop().getSleep().getSeconds();
      assertTrue(w.template().getSpec().getTerminationGracePeriodSeconds() > grace + preStop,
          w.name() + ": terminationGracePeriodSeconds must outlast the preStop pause and the drain");
    }
    Workload trainer = m.workload("trainer");
    long stopGrace = Long.parseLong(env(onlyContainer(trainer), "GRAFT_TRAINER_STOP_GRACE_S"));
    long podGrace = trainer.template().getSpec().getTerminationGracePeriodSeconds();
    assertTrue(stopGrace >= 60, "the trainer needs time to finish a step and checkpoint: " + stopGrace);
    assertTrue(stopGrace < podGrace, "the trainer's --stop-grace-s (" + stopGrace
        + ") must end before the kubelet's SIGKILL (terminationGracePeriodSeconds " + podGrace + ")");
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void services_areHeadless_andEachSelectsOneRole(String overlay) {
    RenderedManifests m = RenderedManifests.of(overlay);
    for (Service s : m.all(Service.class)) {
      assertEquals("None", s.getSpec().getClusterIP(), s.getMetadata().getName() + " is headless");
      Set<String> selected = m.select(new LabelSelectorBuilder()
          .withMatchLabels(s.getSpec().getSelector()).build());
      assertEquals(1, selected.size(), s.getMetadata().getName() + " selects " + selected);
      Container c = onlyContainer(m.workload(selected.iterator().next()));
      for (ServicePort p : s.getSpec().getPorts()) {
        assertEquals(p.getPort(), containerPort(c, p.getTargetPort().getStrVal()), s.getMetadata().getName());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void runConfig_fromTheConfigMap_isAValidPlan_whoseEndpointsAreTheServices(String overlay) throws Exception {
    RenderedManifests m = RenderedManifests.of(overlay);
    RunPlan plan = runPlan(m);
    // Teachers and samplers: one channel balanced over the Service's ready replicas (EndpointSlices).
    HostPort teachers = serviceAddress(m, "teacher");
    HostPort samplers = serviceAddress(m, "sampler");
    assertEquals(List.of(new HostPort("k8s", teachers.host(), teachers.port())), plan.teacher().endpoints());
    assertEquals(List.of(new HostPort("k8s", samplers.host(), samplers.port())), plan.onpolicy().samplers());
    assertTrue(plan.onpolicy().enabled(), "the default run is on-policy");
    assertEquals(serviceAddress(m, "trainer"), HostPort.parse(env(onlyContainer(m.workload("sampler")), "GRAFT_SAMPLER_TRAINER")));
    assertEquals(serviceAddress(m, "trainer").port(), plan.serverPort());
    assertTrue(plan.teacher().model().startsWith("/var/lib/graft/models"), "the teacher checkpoint is on the data volume");

    Container trainer = onlyContainer(m.workload("trainer"));
    Path config = Path.of(env(trainer, "GRAFT_CONFIG"));
    VolumeMount mount = trainer.getVolumeMounts().stream().filter(v -> v.getMountPath().equals(config.getParent().toString()))
        .findFirst().orElseThrow(() -> new AssertionError("GRAFT_CONFIG " + config + " is not on a mounted volume"));
    Volume volume = m.workload("trainer").template().getSpec().getVolumes().stream()
        .filter(v -> v.getName().equals(mount.getName())).findFirst().orElseThrow();
    assertEquals(configMap(m).getMetadata().getName(), volume.getConfigMap().getName());
    assertTrue(configMap(m).getData().containsKey(config.getFileName().toString()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void everyRole_runsMutualTls_withItsCertificateFromASecretDirectory_andTheAllowList(String overlay) {
    RenderedManifests m = RenderedManifests.of(overlay);
    Map<String, String> allowed = Map.of("teacher", "trainer", "sampler", "trainer", "trainer", "sampler,operator");
    for (Workload w : m.workloads()) {
      String role = w.component();
      String where = overlay + " " + w.name();
      Container c = onlyContainer(w);
      assertNull(envOrNull(c, "GRAFT_PLAINTEXT"), where + " is not plaintext");
      assertEquals("require", env(c, "GRAFT_TLS_CLIENT_AUTH"), where);
      assertEquals(allowed.get(role), env(c, "GRAFT_TLS_ALLOWED_CLIENTS"), where);
      Path cert = Path.of(env(c, "GRAFT_TLS_CERT"));
      assertEquals(cert.getParent().resolve("tls.key"), Path.of(env(c, "GRAFT_TLS_KEY")), where);
      assertEquals(cert.getParent().resolve("ca.crt"), Path.of(env(c, "GRAFT_TLS_CA")), where);
      assertEquals("tls.crt", cert.getFileName().toString(), where);
      VolumeMount mount = c.getVolumeMounts().stream()
          .filter(vm -> vm.getMountPath().equals(cert.getParent().toString())).findFirst()
          .orElseThrow(() -> new AssertionError(where + ": " + cert.getParent() + " is not a mounted directory"));
      assertNull(mount.getSubPath(), where + ": a subPath mount never sees a rotated Secret");
      assertEquals(Boolean.TRUE, mount.getReadOnly(), where);
      Volume v = w.template().getSpec().getVolumes().stream().filter(x -> x.getName().equals(mount.getName()))
          .findFirst().orElseThrow();
      assertNotNull(v.getSecret(), where + ": the certificates come from a Secret");
      assertEquals("graft-tls-" + role, v.getSecret().getSecretName(), where);
      assertEquals(0440, v.getSecret().getDefaultMode(), where + ": owner and group read, nobody else");
      PodSecurityContext pod = w.template().getSpec().getSecurityContext();
      assertEquals(pod.getRunAsGroup(), pod.getFsGroup(), where + ": the files' group (fsGroup) is the user's");
    }
  }

  @Test
  void aRunConfigWithAnUnknownKey_failsThePlan_soTheConfigMapCheckCanFail(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("run.yaml");
    Files.writeString(bad, "server:\n  prot: 50053\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RunPlan.of(RunConfig.load(bad, List.of())));
    assertTrue(e.getMessage().contains("unknown key 'server.prot'"), e.getMessage());
  }

  private static String envOrNull(Container c, String name) {
    return c.getEnv().stream().filter(e -> e.getName().equals(name)).map(e -> e.getValue()).findFirst().orElse(null);
  }

  private static RunPlan runPlan(RenderedManifests m) throws Exception {
    Path file = Files.createTempFile("run", ".yaml");
    try {
      Files.writeString(file, configMap(m).getData().get("run.yaml"));
      return RunPlan.of(RunConfig.load(file, List.of()));
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static ConfigMap configMap(RenderedManifests m) {
    List<ConfigMap> maps = m.all(ConfigMap.class);
    assertEquals(1, maps.size());
    return maps.get(0);
  }

  /** The address of a role's Service on its gRPC port: its name, as a pod in the namespace resolves it. */
  private static HostPort serviceAddress(RenderedManifests m, String role) {
    Service s = m.named(Service.class, "graft-" + role);
    assertEquals(role, s.getSpec().getSelector().get("app.kubernetes.io/component"));
    int port = s.getSpec().getPorts().stream().filter(p -> "grpc".equals(p.getName())).findFirst().orElseThrow().getPort();
    return new HostPort(s.getMetadata().getName(), port);
  }
}
