package dev.graft.kube.submit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.trainer.plan.RunConfig;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.DeleteOptions;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link RunSubmitter} against fabric8's mock API server in CRUD mode, through the real client. */
@EnableKubernetesMockClient(crud = true)
class RunSubmitterTest {

  static KubernetesMockServer server;
  static KubernetesClient client;

  private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
  private final RunSubmitter submitter = new RunSubmitter(client,
      new PrintStream(printed, true, StandardCharsets.UTF_8));

  @Test
  void submit_createsEveryObjectOwnedByTheTrainer() {
    SubmitSpec spec = Specs.spec("r1", 2, 3, SubmitSpec.Device.CPU, 0);
    List<HasMetadata> created = submitter.submit(spec, false, Duration.ZERO);

    assertEquals(List.of("StatefulSet/r1-trainer", "ConfigMap/r1-config", "ServiceAccount/r1-trainer",
        "Role/r1-trainer", "RoleBinding/r1-trainer", "Deployment/r1-teacher",
        "Deployment/r1-sampler", "Service/r1-trainer", "Service/r1-teacher", "Service/r1-sampler"),
        created.stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).toList());
    StatefulSet trainer = client.apps().statefulSets().inNamespace("graft-test").withName("r1-trainer").get();
    assertNotNull(trainer.getMetadata().getUid());
    assertEquals(1, trainer.getSpec().getReplicas());
    assertEquals("5Gi", trainer.getSpec().getVolumeClaimTemplates().get(0).getSpec().getResources().getRequests()
        .get("storage").toString());
    for (HasMetadata o : created.subList(1, created.size())) {
      HasMetadata stored = client.resource(o).get();
      assertEquals(1, stored.getMetadata().getOwnerReferences().size(), o.getMetadata().getName());
      OwnerReference ref = stored.getMetadata().getOwnerReferences().get(0);
      assertEquals("StatefulSet", ref.getKind());
      assertEquals("r1-trainer", ref.getName());
      assertEquals(trainer.getMetadata().getUid(), ref.getUid());
      assertEquals(Boolean.TRUE, ref.getController());
      assertEquals(Boolean.TRUE, ref.getBlockOwnerDeletion());
      assertEquals("graft", stored.getMetadata().getLabels().get("app.kubernetes.io/name"));
      assertEquals("r1", stored.getMetadata().getLabels().get("app.kubernetes.io/instance"));
    }
    Deployment teachers = client.apps().deployments().inNamespace("graft-test").withName("r1-teacher").get();
    Deployment samplers = client.apps().deployments().inNamespace("graft-test").withName("r1-sampler").get();
    assertEquals(2, teachers.getSpec().getReplicas());
    assertEquals(3, samplers.getSpec().getReplicas());
    assertEquals("teacher", teachers.getSpec().getTemplate().getMetadata().getLabels()
        .get("app.kubernetes.io/component"));
    assertEquals(teachers.getSpec().getSelector().getMatchLabels().entrySet().stream()
        .allMatch(e -> e.getValue().equals(teachers.getSpec().getTemplate().getMetadata().getLabels().get(e.getKey()))),
        true, "the selector selects the template's pods");

    Service svc = client.services().inNamespace("graft-test").withName("r1-sampler").get();
    assertEquals("None", svc.getSpec().getClusterIP());
    assertEquals(Map.of("app.kubernetes.io/name", "graft", "app.kubernetes.io/instance", "r1",
        "app.kubernetes.io/component", "sampler"), svc.getSpec().getSelector());
    assertEquals(List.of(50052, 9465), svc.getSpec().getPorts().stream().map(p -> p.getPort()).toList());
  }

  @Test
  void submit_podsHaveProbesLimitsAndALockedDownSecurityContext() {
    submitter.submit(Specs.spec("r2", 1, 1, SubmitSpec.Device.CPU, 0), false, Duration.ZERO);
    for (PodSpec pod : podSpecs("r2")) {
      Container c = pod.getContainers().get(0);
      int port = c.getPorts().stream().filter(p -> p.getName().equals("health")).findFirst().orElseThrow()
          .getContainerPort();
      assertEquals(8081, port, c.getName() + ": the plaintext health port, for probes that cannot speak TLS");
      assertEquals(Integer.toString(port), env(c, "GRAFT_PLAINTEXT_HEALTH_PORT"), c.getName());
      assertEquals(port, c.getReadinessProbe().getGrpc().getPort(), c.getName());
      assertEquals(port, c.getLivenessProbe().getGrpc().getPort(), c.getName());
      assertEquals(port, c.getStartupProbe().getGrpc().getPort(), c.getName());
      assertTrue(c.getStartupProbe().getPeriodSeconds() * c.getStartupProbe().getFailureThreshold() >= 600,
          "the startup probe allows a slow model load");
      assertEquals(Boolean.TRUE, pod.getSecurityContext().getRunAsNonRoot());
      assertEquals("RuntimeDefault", pod.getSecurityContext().getSeccompProfile().getType());
      assertEquals(Boolean.FALSE, c.getSecurityContext().getAllowPrivilegeEscalation());
      assertEquals(Boolean.TRUE, c.getSecurityContext().getReadOnlyRootFilesystem());
      assertEquals(List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop());
      assertTrue(c.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/tmp")), c.getName());
      assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getName().equals("tmp") && v.getEmptyDir() != null));
      assertEquals(new Quantity("8Gi"), c.getResources().getLimits().get("memory"));
      assertNull(c.getResources().getLimits().get(RunObjects.GPU_RESOURCE), "a CPU run asks for no GPU");
      assertTrue(c.getArgs().containsAll(List.of("--device", "cpu")), c.getArgs().toString());
      assertEquals("registry.example.com/graft:0.1.0", c.getImage());
    }
  }

  @Test
  void submit_everyRoleRunsMutualTls_withItsSecretMountedAsADirectory_andItsAllowList() {
    submitter.submit(Specs.spec("tls", 1, 1, SubmitSpec.Device.CPU, 0), false, Duration.ZERO);
    Map<String, String> allowed = Map.of("teacher", "trainer", "sampler", "trainer", "trainer", "sampler,operator");
    List<PodSpec> pods = podSpecs("tls");
    assertEquals(3, pods.size());
    for (PodSpec pod : pods) {
      Container c = pod.getContainers().get(0);
      String role = c.getName();
      assertEquals(allowed.get(role), env(c, "GRAFT_TLS_ALLOWED_CLIENTS"), role);
      assertEquals("require", env(c, "GRAFT_TLS_CLIENT_AUTH"), role);
      assertEquals("/etc/graft-tls/tls.crt", env(c, "GRAFT_TLS_CERT"), role);
      assertEquals("/etc/graft-tls/tls.key", env(c, "GRAFT_TLS_KEY"), role);
      assertEquals("/etc/graft-tls/ca.crt", env(c, "GRAFT_TLS_CA"), role);
      assertNull(env(c, "GRAFT_PLAINTEXT"), role);
      VolumeMount mount = c.getVolumeMounts().stream().filter(m -> m.getMountPath().equals("/etc/graft-tls"))
          .findFirst().orElseThrow();
      assertNull(mount.getSubPath(), role + ": a subPath mount never sees a renewed Secret");
      assertEquals(Boolean.TRUE, mount.getReadOnly(), role);
      Volume v = pod.getVolumes().stream().filter(x -> x.getName().equals(mount.getName())).findFirst().orElseThrow();
      assertEquals("graft-tls-" + role, v.getSecret().getSecretName(), role);
      assertEquals(0440, v.getSecret().getDefaultMode(), role);
      assertEquals(pod.getSecurityContext().getRunAsGroup(), pod.getSecurityContext().getFsGroup(), role);
    }
  }

  @Test
  void submit_plaintext_setsGraftPlaintext_andProbesTheServingPort() {
    SubmitSpec spec = new SubmitSpec(new RunNames("graft-test", "plain"), Specs.plan("train.steps=500"), 1, 1,
        SubmitSpec.Device.CPU, "graft:1", "1Gi", 0, null);
    submitter.submit(spec, false, Duration.ZERO);
    for (PodSpec pod : podSpecs("plain")) {
      Container c = pod.getContainers().get(0);
      int grpc = c.getPorts().stream().filter(p -> p.getName().equals("grpc")).findFirst().orElseThrow()
          .getContainerPort();
      assertEquals("true", env(c, "GRAFT_PLAINTEXT"), c.getName());
      assertTrue(c.getEnv().stream().noneMatch(e -> e.getName().startsWith("GRAFT_TLS_")), c.getName());
      assertEquals(List.of("grpc", "metrics"), c.getPorts().stream().map(p -> p.getName()).toList(), c.getName());
      assertEquals(grpc, c.getReadinessProbe().getGrpc().getPort(), c.getName());
      assertEquals(grpc, c.getLivenessProbe().getGrpc().getPort(), c.getName());
      assertEquals(grpc, c.getStartupProbe().getGrpc().getPort(), c.getName());
      assertTrue(pod.getVolumes().stream().noneMatch(v -> v.getSecret() != null), c.getName());
    }
    assertEquals("--tls-secret-prefix 'Graft_TLS' must begin a Secret's name (a DNS-1123 subdomain: a-z, 0-9, '-'"
            + " and '.', starting and ending with a letter or digit)",
        assertThrows(IllegalArgumentException.class, () -> new SubmitSpec(new RunNames("graft-test", "bad"),
            Specs.plan("train.steps=500"), 1, 1, SubmitSpec.Device.CPU, "graft:1", "1Gi", 0, "Graft_TLS"))
            .getMessage());
  }

  @Test
  void submit_trainerStopsWaitingForItsStepBeforeThePodsGraceEnds() {
    submitter.submit(Specs.spec("grace", 1, 1, SubmitSpec.Device.CPU, 0), false, Duration.ZERO);
    PodSpec trainer = client.apps().statefulSets().inNamespace("graft-test").withName("grace-trainer").get()
        .getSpec().getTemplate().getSpec();
    List<String> args = trainer.getContainers().get(0).getArgs();
    long stopGrace = Long.parseLong(args.get(args.indexOf("--stop-grace-s") + 1));
    assertTrue(stopGrace >= 60 && stopGrace < trainer.getTerminationGracePeriodSeconds(),
        "--stop-grace-s " + stopGrace + " vs terminationGracePeriodSeconds " + trainer.getTerminationGracePeriodSeconds());
  }

  @Test
  void submit_gpuRunLimitsEveryPodToOneGpu() {
    submitter.submit(Specs.spec("r3", 1, 2, SubmitSpec.Device.GPU, 0), false, Duration.ZERO);
    List<PodSpec> pods = podSpecs("r3");
    assertEquals(3, pods.size());
    for (PodSpec pod : pods) {
      Container c = pod.getContainers().get(0);
      assertEquals(new Quantity("1"), c.getResources().getLimits().get(RunObjects.GPU_RESOURCE), c.getName());
      assertTrue(c.getArgs().containsAll(List.of("--device", "gpu")), c.getArgs().toString());
      assertTrue(pod.getTolerations().stream().anyMatch(t -> t.getKey().equals(RunObjects.GPU_RESOURCE)));
    }
  }

  @Test
  void submit_trainerReadsTheConfigMapAndFindsItsPeersThroughTheServices() {
    submitter.submit(Specs.spec("r4", 1, 1, SubmitSpec.Device.CPU, 0), false, Duration.ZERO);
    ConfigMap cm = client.configMaps().inNamespace("graft-test").withName("r4-config").get();
    assertEquals(Specs.plan("train.steps=500").source(), loadYaml(cm.getData().get(RunObjects.CONFIG_KEY)));

    StatefulSet sts = client.apps().statefulSets().inNamespace("graft-test").withName("r4-trainer").get();
    Container trainer = sts.getSpec().getTemplate().getSpec().getContainers().get(0);
    List<String> args = trainer.getArgs();
    assertEquals(List.of("trainer", "--config", "/etc/graft/run.yaml"), args.subList(0, 3));
    assertTrue(args.contains("teacher.endpoints=k8s:///r4-teacher.graft-test:50051"), args.toString());
    assertTrue(args.contains("onpolicy.samplers=k8s:///r4-sampler.graft-test:50052"), args.toString());
    assertTrue(args.contains("server.port=50053"), args.toString());
    assertEquals("r4-config", sts.getSpec().getTemplate().getSpec().getVolumes().stream()
        .filter(v -> v.getConfigMap() != null).findFirst().orElseThrow().getConfigMap().getName());
    Container sampler = client.apps().deployments().inNamespace("graft-test").withName("r4-sampler").get()
        .getSpec().getTemplate().getSpec().getContainers().get(0);
    int at = sampler.getArgs().indexOf("--trainer");
    assertEquals("r4-trainer.graft-test.svc.cluster.local:50053", sampler.getArgs().get(at + 1));

    // k8s:/// needs the trainer to follow EndpointSlices, and nothing more without the autoscaler.
    Role role = client.rbac().roles().inNamespace("graft-test").withName("r4-trainer").get();
    assertEquals(List.of("[discovery.k8s.io] [endpointslices] [] [get, list, watch]"), rules(role));
    PodSpec pod = sts.getSpec().getTemplate().getSpec();
    assertEquals("r4-trainer", pod.getServiceAccountName());
    assertEquals(Boolean.TRUE, pod.getAutomountServiceAccountToken());
    for (String replica : List.of("r4-teacher", "r4-sampler")) {
      PodSpec p = client.apps().deployments().inNamespace("graft-test").withName(replica).get().getSpec()
          .getTemplate().getSpec();
      assertEquals(Boolean.FALSE, p.getAutomountServiceAccountToken(), replica + " calls no API");
      assertNull(p.getServiceAccountName(), replica);
    }
  }

  private static List<String> rules(Role role) {
    return role.getRules().stream().map(r -> r.getApiGroups() + " " + r.getResources() + " " + r.getResourceNames()
        + " " + r.getVerbs()).toList();
  }

  private static String env(Container c, String name) {
    return c.getEnv().stream().filter(e -> e.getName().equals(name)).map(e -> e.getValue()).findFirst().orElse(null);
  }

  @Test
  void submit_withAutoscalerGrantsTheTrainerOnlyTheSamplersScale() {
    submitter.submit(Specs.spec("r5", 1, 2, SubmitSpec.Device.CPU, 6), false, Duration.ZERO);
    Role role = client.rbac().roles().inNamespace("graft-test").withName("r5-trainer").get();
    assertEquals(List.of("[discovery.k8s.io] [endpointslices] [] [get, list, watch]",
        "[apps] [deployments/scale] [r5-sampler] [get, update]"), rules(role));
    PodSpec trainer = client.apps().statefulSets().inNamespace("graft-test").withName("r5-trainer").get()
        .getSpec().getTemplate().getSpec();
    assertEquals("r5-trainer", trainer.getServiceAccountName());
    List<String> args = trainer.getContainers().get(0).getArgs();
    assertEquals("r5-sampler", args.get(args.indexOf("--autoscale-deployment") + 1));
    assertEquals("6", args.get(args.indexOf("--autoscale-max") + 1));
    assertNotNull(client.rbac().roleBindings().inNamespace("graft-test").withName("r5-trainer").get());
  }

  @Test
  void submit_existingRunIsRefusedUnlessReplaced() {
    SubmitSpec spec = Specs.spec("r6", 1, 1, SubmitSpec.Device.CPU, 0);
    String firstUid = submitter.submit(spec, false, Duration.ZERO).get(0).getMetadata().getUid();

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> submitter.submit(spec, false, Duration.ZERO));
    assertEquals("run r6 already exists in namespace graft-test (StatefulSet r6-trainer); delete it with"
        + " `graft submit --delete r6 --namespace graft-test` or pass --replace", e.getMessage());

    String secondUid = submitter.submit(spec, true, Duration.ofSeconds(5)).get(0).getMetadata().getUid();
    assertFalse(firstUid.equals(secondUid), "replaced by a new trainer");
    assertEquals(secondUid, client.configMaps().inNamespace("graft-test").withName("r6-config").get()
        .getMetadata().getOwnerReferences().get(0).getUid());
  }

  @Test
  void delete_removesTheTrainerAndEverythingOfTheRun() throws InterruptedException {
    submitter.submit(Specs.spec("r7", 1, 1, SubmitSpec.Device.CPU, 3), false, Duration.ZERO);
    submitter.submit(Specs.spec("other", 1, 1, SubmitSpec.Device.CPU, 0), false, Duration.ZERO);

    List<String> removed = submitter.delete(new RunNames("graft-test", "r7"), DeletionPropagation.FOREGROUND,
        Duration.ofSeconds(5));

    assertEquals("StatefulSet/r7-trainer", removed.get(0));
    assertEquals("Foreground", propagationOfDelete("/apis/apps/v1/namespaces/graft-test/statefulsets/r7-trainer"));
    assertEquals(List.of("ConfigMap/r7-config", "Deployment/r7-sampler", "Deployment/r7-teacher",
        "Role/r7-trainer", "RoleBinding/r7-trainer", "Service/r7-sampler", "Service/r7-teacher",
        "Service/r7-trainer", "ServiceAccount/r7-trainer", "StatefulSet/r7-trainer"),
        removed.stream().sorted().toList());
    assertNull(client.apps().statefulSets().inNamespace("graft-test").withName("r7-trainer").get());
    assertEquals(0, client.apps().deployments().inNamespace("graft-test")
        .withLabel(RunNames.INSTANCE_LABEL, "r7").list().getItems().size());
    assertEquals(0, client.services().inNamespace("graft-test").withLabel(RunNames.INSTANCE_LABEL, "r7").list()
        .getItems().size());
    assertNotNull(client.apps().statefulSets().inNamespace("graft-test").withName("other-trainer").get(),
        "another run is left alone");
    assertEquals(2, client.apps().deployments().inNamespace("graft-test")
        .withLabel(RunNames.INSTANCE_LABEL, "other").list().getItems().size());
  }

  @Test
  void delete_unknownRunIsAnError() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> submitter.delete(new RunNames("graft-test", "nope"), DeletionPropagation.BACKGROUND, Duration.ZERO));
    assertEquals("no run nope in namespace graft-test (no StatefulSet nope-trainer)", e.getMessage());
  }

  /** The propagation policy the client asked for when it deleted {@code path} (drains the recorded requests). */
  static String propagationOfDelete(String path) throws InterruptedException {
    String policy = null;
    for (RecordedRequest r = server.takeRequest(100, TimeUnit.MILLISECONDS); r != null;
        r = server.takeRequest(100, TimeUnit.MILLISECONDS)) {
      if (r.getMethod().equals("DELETE") && r.getPath().equals(path)) {
        DeleteOptions options = new KubernetesSerialization().unmarshal(r.getUtf8Body(), DeleteOptions.class);
        policy = options.getPropagationPolicy();
      }
    }
    return policy;
  }

  private static List<PodSpec> podSpecs(String run) {
    List<PodSpec> out = new java.util.ArrayList<>();
    out.add(client.apps().statefulSets().inNamespace("graft-test").withName(run + "-trainer").get()
        .getSpec().getTemplate().getSpec());
    for (Deployment d : client.apps().deployments().inNamespace("graft-test")
        .withLabel(RunNames.INSTANCE_LABEL, run).list().getItems()) {
      out.add(d.getSpec().getTemplate().getSpec());
    }
    return out;
  }

  private static RunConfig loadYaml(String yaml) {
    try {
      Path f = Files.createTempFile("run", ".yaml");
      try {
        Files.writeString(f, yaml);
        return RunConfig.load(f, List.of());
      } finally {
        Files.delete(f);
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
