package dev.graft.kube.submit;

import dev.graft.kube.submit.RunNames.Role;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResourceList;
import io.fabric8.kubernetes.api.model.StatusDetails;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Creates and deletes a run through the Kubernetes API: the trainer StatefulSet first, then every
 * object it owns with an owner reference to it; a run that already exists is refused unless it is
 * to be replaced; a run that cannot be created completely is removed again.
 */
public final class RunSubmitter {

  private final KubernetesClient client;
  private final PrintStream out;

  public RunSubmitter(KubernetesClient client, PrintStream out) {
    this.client = Objects.requireNonNull(client);
    this.out = Objects.requireNonNull(out);
  }

  /** Whether the run's trainer StatefulSet exists. */
  public boolean exists(RunNames names) {
    try {
      return trainer(names).get() != null;
    } catch (KubernetesClientException e) {
      throw KubeErrors.describe(client, "look up run " + names.run() + " in namespace " + names.namespace(), e);
    }
  }

  /**
   * Creates the run.
   *
   * @param replace delete an existing run of the same name first (foreground: waits up to
   *     {@code timeout} until the cluster has removed it)
   * @return the objects as the API server stored them, the trainer first
   * @throws IllegalStateException when the run exists and {@code replace} is false, or the API
   *     server refuses or cannot be reached (what was created is deleted again)
   */
  public List<HasMetadata> submit(SubmitSpec spec, boolean replace, Duration timeout) {
    RunNames names = spec.names();
    if (exists(names)) {
      if (!replace) {
        throw new IllegalStateException("run " + names.run() + " already exists in namespace " + names.namespace()
            + " (StatefulSet " + names.of(Role.TRAINER) + "); delete it with `graft submit --delete " + names.run()
            + " --namespace " + names.namespace() + "` or pass --replace");
      }
      out.println("replacing run " + names.run() + " in namespace " + names.namespace());
      delete(names, DeletionPropagation.FOREGROUND, timeout);
    }
    RunObjects objects = new RunObjects(spec);
    List<HasMetadata> created = new ArrayList<>();
    StatefulSet owner = create(objects.trainer(), created, names);
    for (HasMetadata o : objects.owned(owner)) {
      create(o, created, names);
    }
    return List.copyOf(created);
  }

  private <T extends HasMetadata> T create(T object, List<HasMetadata> created, RunNames names) {
    String what = object.getKind() + " " + object.getMetadata().getName();
    try {
      T stored = client.resource(object).create();
      created.add(stored);
      out.println("created " + what);
      return stored;
    } catch (KubernetesClientException e) {
      IllegalStateException failure = KubeErrors.describe(client, "create " + what + " in namespace "
          + names.namespace(), e);
      if (!created.isEmpty()) {
        out.println("removing the partly created run " + names.run());
        try {
          delete(names, DeletionPropagation.BACKGROUND, Duration.ZERO);
        } catch (RuntimeException cleanup) {
          failure.addSuppressed(cleanup);
        }
      }
      throw failure;
    }
  }

  /**
   * Deletes the run: the trainer StatefulSet with {@code propagation} — the cluster's garbage
   * collector then removes every object that names it as owner (foreground: before the
   * StatefulSet itself disappears; background: afterwards) — and, so that nothing is left where no
   * collector runs, the run's other labelled objects explicitly.
   *
   * @param timeout how long to wait for the StatefulSet to disappear; zero does not wait
   * @return what was deleted, as {@code Kind/name}, the trainer first
   * @throws IllegalArgumentException when the namespace holds no such run
   */
  public List<String> delete(RunNames names, DeletionPropagation propagation, Duration timeout) {
    List<String> removed = new ArrayList<>();
    try {
      List<StatusDetails> gone = trainer(names).withPropagationPolicy(propagation).delete();
      if (gone.isEmpty()) {
        throw new IllegalArgumentException("no run " + names.run() + " in namespace " + names.namespace()
            + " (no StatefulSet " + names.of(Role.TRAINER) + ")");
      }
      removed.add("StatefulSet/" + names.of(Role.TRAINER));
      String ns = names.namespace();
      Map<String, String> labels = names.runSelector();
      removed.addAll(deleteLabelled("Deployment", client.apps().deployments().inNamespace(ns), labels));
      removed.addAll(deleteLabelled("Service", client.services().inNamespace(ns), labels));
      removed.addAll(deleteLabelled("ConfigMap", client.configMaps().inNamespace(ns), labels));
      removed.addAll(deleteLabelled("RoleBinding", client.rbac().roleBindings().inNamespace(ns), labels));
      removed.addAll(deleteLabelled("Role", client.rbac().roles().inNamespace(ns), labels));
      removed.addAll(deleteLabelled("ServiceAccount", client.serviceAccounts().inNamespace(ns), labels));
      if (!timeout.isZero()) {
        trainer(names).waitUntilCondition(Objects::isNull, timeout.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (KubernetesClientException e) {
      throw KubeErrors.describe(client, "delete run " + names.run() + " in namespace " + names.namespace(), e);
    }
    removed.forEach(r -> out.println("deleted " + r));
    return List.copyOf(removed);
  }

  private static <T extends HasMetadata, L extends KubernetesResourceList<T>> List<String> deleteLabelled(
      String kind, NonNamespaceOperation<T, L, ? extends Resource<T>> op, Map<String, String> labels) {
    List<String> removed = new ArrayList<>();
    for (T item : op.withLabels(labels).list().getItems()) {
      String name = item.getMetadata().getName();
      if (!op.withName(name).withPropagationPolicy(DeletionPropagation.BACKGROUND).delete().isEmpty()) {
        removed.add(kind + "/" + name);
      }
    }
    return removed;
  }

  private Resource<StatefulSet> trainer(RunNames names) {
    return client.apps().statefulSets().inNamespace(names.namespace()).withName(names.of(Role.TRAINER));
  }
}
