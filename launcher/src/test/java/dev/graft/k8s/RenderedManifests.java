package dev.graft.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * One overlay of {@code k8s/} as {@code kubectl kustomize} renders it, parsed into fabric8's typed
 * objects, with the lookups the manifest checks need.
 *
 * @param overlay the overlay's directory name
 * @param objects every rendered object, typed by its kind
 */
record RenderedManifests(String overlay, List<HasMetadata> objects) {

  /** The repository's {@code k8s/} folder (tests run in {@code launcher/}). */
  static final Path K8S = Path.of("..", "k8s").toAbsolutePath().normalize();

  private static final Map<String, RenderedManifests> RENDERED = new ConcurrentHashMap<>();

  /** A workload's pod template with the workload's name and kind, e.g. Deployment graft-teacher. */
  record Workload(String kind, String name, int replicas, PodTemplateSpec template) {
    Map<String, String> labels() {
      return template.getMetadata().getLabels();
    }

    String component() {
      return labels().get("app.kubernetes.io/component");
    }
  }

  /** kubectl on PATH, if any. */
  static Optional<Path> kubectl() {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir, "kubectl");
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /**
   * The overlay, rendered once per JVM. Where kubectl is not installed the calling test is skipped
   * (a JUnit assumption), saying so.
   */
  static RenderedManifests of(String overlay) {
    Optional<Path> kubectl = kubectl();
    assumeTrue(kubectl.isPresent(), "kubectl is not on PATH: k8s/overlays/" + overlay + " cannot be rendered, so "
        + "its checks are skipped (install kubectl to run them)");
    return RENDERED.computeIfAbsent(overlay, o -> {
      try {
        return render(kubectl.get(), o);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while rendering " + o, e);
      }
    });
  }

  /** Renders {@code k8s/overlays/<overlay>} with {@code kubectl kustomize} and parses every document. */
  static RenderedManifests render(Path kubectl, String overlay) throws IOException, InterruptedException {
    Path dir = K8S.resolve("overlays").resolve(overlay);
    Path err = Files.createTempFile("kustomize-" + overlay, ".err");
    try {
      Process p = new ProcessBuilder(kubectl.toString(), "kustomize", dir.toString()).redirectError(err.toFile()).start();
      String yaml = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("kubectl kustomize " + dir + " failed: " + Files.readString(err));
      }
      return new RenderedManifests(overlay, parse(yaml));
    } finally {
      Files.deleteIfExists(err);
    }
  }

  /** Every document of a multi-document YAML stream, typed by its apiVersion and kind. */
  static List<HasMetadata> parse(String yaml) {
    KubernetesSerialization serialization = new KubernetesSerialization();
    List<HasMetadata> objects = new ArrayList<>();
    for (String doc : yaml.split("(?m)^---\\s*$")) {
      if (!doc.isBlank()) {
        objects.add(serialization.unmarshal(doc, HasMetadata.class));
      }
    }
    return List.copyOf(objects);
  }

  /** Every object of {@code type}. */
  <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  /** The object of {@code type} named {@code name}; fails when there is none. */
  <T extends HasMetadata> T named(Class<T> type, String name) {
    return all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError(overlay + ": no " + type.getSimpleName() + " named " + name));
  }

  /** The Deployments and StatefulSets, with their pod templates. */
  List<Workload> workloads() {
    List<Workload> out = new ArrayList<>();
    for (Deployment d : all(Deployment.class)) {
      out.add(new Workload("Deployment", d.getMetadata().getName(), d.getSpec().getReplicas(), d.getSpec().getTemplate()));
    }
    for (StatefulSet s : all(StatefulSet.class)) {
      out.add(new Workload("StatefulSet", s.getMetadata().getName(), s.getSpec().getReplicas(), s.getSpec().getTemplate()));
    }
    return out;
  }

  /** The workload whose pods are the given component (teacher, sampler, trainer). */
  Workload workload(String component) {
    return workloads().stream().filter(w -> component.equals(w.component())).findFirst()
        .orElseThrow(() -> new AssertionError(overlay + ": no workload of component " + component));
  }

  /** The namespace the overlay renders into (every object carries it). */
  String namespace() {
    return objects.get(0).getMetadata().getNamespace();
  }

  /** The components (teacher, sampler, trainer) of the workloads whose pods {@code selector} selects. */
  Set<String> select(LabelSelector selector) {
    return workloads().stream().filter(w -> LabelSelectors.matches(selector, w.labels())).map(Workload::component)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  /** The workload's one container. */
  static Container onlyContainer(Workload w) {
    assertEquals(1, w.template().getSpec().getContainers().size(), w.name());
    return w.template().getSpec().getContainers().get(0);
  }

  /** The number of the container's port called {@code name}; fails when there is none. */
  static int containerPort(Container c, String name) {
    return c.getPorts().stream().filter(p -> name.equals(p.getName())).map(ContainerPort::getContainerPort)
        .findFirst().orElseThrow(() -> new AssertionError(c.getName() + " has no port named " + name));
  }

  /** The value the container's environment gives {@code name}; fails when it sets none. */
  static String env(Container c, String name) {
    return c.getEnv().stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).findFirst()
        .orElseThrow(() -> new AssertionError(c.getName() + " does not set " + name));
  }
}
