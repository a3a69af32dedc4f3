package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.DeleteOptions;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code graft submit} end to end against fabric8's mock API server in CRUD mode. */
@EnableKubernetesMockClient(crud = true)
class SubmitCommandTest {

  static KubernetesMockServer server;
  static KubernetesClient client;

  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final StringWriter err = new StringWriter();

  /** Runs {@code graft submit ARGS} with a fresh client of the mock server; returns the exit code. */
  private int submit(Function<String, KubernetesClient> connect, String... args) {
    CommandLine cl = new CommandLine(new SubmitCommand(connect, new PrintStream(out, true, StandardCharsets.UTF_8),
        Duration.ofMillis(10)));
    cl.setExecutionExceptionHandler(GraftCommand.commandLine().getExecutionExceptionHandler());
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  private int submit(String... args) {
    return submit(ctx -> server.createClient(), args);
  }

  private Path runYaml(String name, String text) throws IOException {
    Path f = dir.resolve(name);
    Files.writeString(f, text);
    return f;
  }

  private int statefulSets() {
    return client.apps().statefulSets().inAnyNamespace().list().getItems().size();
  }

  @Test
  void invalidConfig_isRefusedBeforeAnythingIsCreated() throws IOException {
    int before = statefulSets();
    Path bad = runYaml("bad.yaml", "train:\n  steps: 0\n");
    assertEquals(2, submit(bad.toString(), "--namespace", "graft-test"));
    assertTrue(err.toString().startsWith("graft: error: invalid run config:"), err.toString());
    assertTrue(err.toString().contains("- train.steps (0) must be > 0"), err.toString());
    assertEquals(before, statefulSets());

    Path typo = runYaml("typo.yaml", "train:\n  stepz: 10\n");
    assertEquals(2, submit(typo.toString(), "--namespace", "graft-test"));
    assertTrue(err.toString().contains("stepz"), err.toString());
    assertEquals(before, statefulSets());
  }

  @Test
  void badNames_areRefusedBeforeAnythingIsCreated() throws IOException {
    Path run = runYaml("ok.yaml", "train:\n  steps: 500\n");
    assertEquals(2, submit(run.toString(), "--namespace", "Graft_Test"));
    assertTrue(err.toString().contains("the namespace 'Graft_Test' must be a DNS-1123 label"), err.toString());
    assertEquals(2, submit(run.toString(), "--namespace", "graft-test", "--samplers", "0"));
    assertTrue(err.toString().contains("needs --samplers M >= 1"), err.toString());
    assertEquals(0, client.apps().statefulSets().inNamespace("graft-test").withName("ok-trainer").get() == null
        ? 0 : 1);
  }

  @Test
  void dryRun_printsEveryObjectAsYamlAndCreatesNothing() throws IOException {
    int before = statefulSets();
    Path run = runYaml("My_Run.yaml", "train:\n  steps: 500\n");
    assertEquals(0, submit(run.toString(), "--namespace", "graft-test", "--teachers", "2", "--samplers", "3",
        "--device", "gpu", "--dry-run"), err.toString());

    List<HasMetadata> objects = new KubernetesSerialization().unmarshal(out.toString(StandardCharsets.UTF_8));
    assertEquals(List.of("StatefulSet/my-run-trainer", "ConfigMap/my-run-config", "ServiceAccount/my-run-trainer",
        "Role/my-run-trainer", "RoleBinding/my-run-trainer", "Deployment/my-run-teacher",
        "Deployment/my-run-sampler", "Service/my-run-trainer", "Service/my-run-teacher", "Service/my-run-sampler"),
        objects.stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).toList());
    assertEquals(before, statefulSets());
  }

  @Test
  void submit_createsTheRunThenReportsWhatIsNotReadyAtTheDeadline() throws IOException, InterruptedException {
    Path run = runYaml("ready.yaml", "train:\n  steps: 500\n");
    assertEquals(2, submit(run.toString(), "--namespace", "graft-test", "--ready-timeout-s", "1", "--no-follow"));
    assertTrue(out.toString().contains("created StatefulSet ready-trainer"), out.toString());
    assertTrue(err.toString().contains("run ready not ready after 1 s (--ready-timeout-s): teachers, samplers,"
        + " trainer not ready"), err.toString());
    assertEquals(2, client.apps().deployments().inNamespace("graft-test").withLabel("app.kubernetes.io/instance",
        "ready").list().getItems().size());

    assertEquals(2, submit(run.toString(), "--namespace", "graft-test", "--no-follow"));
    assertTrue(err.toString().contains("run ready already exists in namespace graft-test"), err.toString());

    assertEquals(0, submit("--delete", "ready", "--namespace", "graft-test", "--propagation", "background"),
        err.toString());
    assertTrue(out.toString().contains("deleted StatefulSet/ready-trainer"), out.toString());
    assertEquals("Background", propagationOfDelete("/apis/apps/v1/namespaces/graft-test/statefulsets/ready-trainer"));
    assertTrue(out.toString().contains("run ready deleted from namespace graft-test (10 objects; the cluster removes"
        + " the pods in the background)"), out.toString());
    assertEquals(null, client.apps().statefulSets().inNamespace("graft-test").withName("ready-trainer").get());
  }

  /** The propagation policy the client asked for when it deleted {@code path} (drains the recorded requests). */
  private static String propagationOfDelete(String path) throws InterruptedException {
    String policy = null;
    for (RecordedRequest r = server.takeRequest(100, TimeUnit.MILLISECONDS); r != null;
        r = server.takeRequest(100, TimeUnit.MILLISECONDS)) {
      if (r.getMethod().equals("DELETE") && r.getPath().equals(path)) {
        policy = new KubernetesSerialization().unmarshal(r.getUtf8Body(), DeleteOptions.class).getPropagationPolicy();
      }
    }
    return policy;
  }

  @Test
  void unreachableApiServer_isAClearError() throws IOException {
    Path run = runYaml("away.yaml", "train:\n  steps: 500\n");
    Function<String, KubernetesClient> nowhere = ctx -> new KubernetesClientBuilder().withConfig(new ConfigBuilder()
        .withMasterUrl("http://127.0.0.1:1").withRequestRetryBackoffLimit(0).withConnectionTimeout(2000).build())
        .build();
    assertEquals(2, submit(nowhere, run.toString(), "--namespace", "graft-test", "--no-follow"));
    assertTrue(err.toString().startsWith("graft: error: cannot reach the Kubernetes API server at"
        + " http://127.0.0.1:1/ to look up run away in namespace graft-test"), err.toString());
  }

  @Test
  void following_needsTheOperatorsClientCertificate_checkedBeforeAnythingIsCreated() throws IOException {
    int before = statefulSets();
    Path run = runYaml("sec.yaml", "train:\n  steps: 500\n");
    assertEquals(2, submit(run.toString(), "--namespace", "graft-test"));
    assertTrue(err.toString().contains("graft submit follows the trainer's status over mutual TLS: give --tls-cert"
        + " and --tls-key of an identity the trainer allows (operator)"), err.toString());
    Path missing = dir.resolve("operator.crt");
    assertEquals(2, submit(run.toString(), "--namespace", "graft-test", "--tls-cert", missing.toString(),
        "--tls-key", dir.resolve("operator.key").toString()));
    assertTrue(err.toString().contains(missing.toString()), err.toString());
    assertEquals(2, submit(run.toString(), "--namespace", "graft-test", "--plaintext", "--tls-secret-prefix", "certs"));
    assertTrue(err.toString().contains("--plaintext runs the roles without certificates: it takes no"
        + " --tls-secret-prefix"), err.toString());
    assertEquals(before, statefulSets());
  }

  @Test
  void dryRun_namesTheRolesSecrets_orRunsThemPlaintext() throws IOException {
    Path run = runYaml("certs.yaml", "train:\n  steps: 500\n");
    assertEquals(0, submit(run.toString(), "--namespace", "graft-test", "--tls-secret-prefix", "my-certs",
        "--dry-run"), err.toString());
    List<HasMetadata> objects = new KubernetesSerialization().unmarshal(out.toString(StandardCharsets.UTF_8));
    assertEquals(List.of("my-certs-trainer", "my-certs-teacher", "my-certs-sampler"), secretsOf(objects));

    out.reset();
    assertEquals(0, submit(run.toString(), "--namespace", "graft-test", "--plaintext", "--dry-run"), err.toString());
    objects = new KubernetesSerialization().unmarshal(out.toString(StandardCharsets.UTF_8));
    assertEquals(List.of(), secretsOf(objects));
    List<PodTemplateSpec> pods = templates(objects);
    assertEquals(3, pods.size());
    for (PodTemplateSpec pod : pods) {
      assertTrue(pod.getSpec().getContainers().get(0).getEnv().stream()
          .anyMatch(e -> e.getName().equals("GRAFT_PLAINTEXT") && e.getValue().equals("true")), pod.toString());
    }
  }

  private static List<PodTemplateSpec> templates(List<HasMetadata> objects) {
    List<PodTemplateSpec> out = new ArrayList<>();
    for (HasMetadata o : objects) {
      if (o instanceof StatefulSet s) {
        out.add(s.getSpec().getTemplate());
      } else if (o instanceof Deployment d) {
        out.add(d.getSpec().getTemplate());
      }
    }
    return out;
  }

  private static List<String> secretsOf(List<HasMetadata> objects) {
    return templates(objects).stream().flatMap(t -> t.getSpec().getVolumes().stream())
        .filter(v -> v.getSecret() != null).map(v -> v.getSecret().getSecretName()).toList();
  }
}
