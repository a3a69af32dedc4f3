package dev.graft.k8s;

import static dev.graft.k8s.RenderedManifests.containerPort;
import static dev.graft.k8s.RenderedManifests.onlyContainer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.k8s.RenderedManifests.Workload;
import dev.graft.service.HostPort;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Who may reach and change what, in every overlay of {@code k8s/} as rendered and parsed into
 * fabric8's typed objects: the NetworkPolicies admit exactly the intended pods (their selectors
 * evaluated against the rendered pods' labels), the trainer's RBAC is the least it needs, only the
 * trainer gets an API token, and the disruption budgets select the replicas of one workload each.
 * Skipped where kubectl is not installed.
 */
class K8sAccessTest {

  private static final String PROMETHEUS = "prometheus";
  private static final Map<String, String> PROMETHEUS_POD = Map.of("app.kubernetes.io/name", "prometheus");
  private static final Map<String, String> PROMETHEUS_NAMESPACE = Map.of("kubernetes.io/metadata.name", "monitoring");

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void onlyTheTrainer_getsAnApiToken(String overlay) {
    RenderedManifests m = RenderedManifests.of(overlay);
    for (Workload w : m.workloads()) {
      PodSpec pod = w.template().getSpec();
      ServiceAccount account = m.named(ServiceAccount.class, pod.getServiceAccountName());
      boolean trainer = w.component().equals("trainer");
      assertEquals(trainer ? "graft-trainer" : "graft-replica", account.getMetadata().getName(), w.name());
      assertEquals(trainer, pod.getAutomountServiceAccountToken(), w.name());
      assertEquals(trainer, account.getAutomountServiceAccountToken(), account.getMetadata().getName());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void networkPolicies_admitOnlyTheTrainerAndPrometheusToReplicas_andOnlySamplersToTheTrainer(String overlay) {
    RenderedManifests m = RenderedManifests.of(overlay);
    Map<String, Map<String, Set<String>>> admitted = new TreeMap<>(); // target -> port name -> sources
    for (NetworkPolicy np : m.all(NetworkPolicy.class)) {
      String name = np.getMetadata().getName();
      Set<String> targets = m.select(np.getSpec().getPodSelector());
      assertEquals(1, targets.size(), name + " selects " + targets);
      String target = targets.iterator().next();
      assertFalse(admitted.containsKey(target), "two policies select " + target);
      assertEquals(List.of("Ingress"), np.getSpec().getPolicyTypes(), name);
      Map<String, Set<String>> byPort = new TreeMap<>();
      for (NetworkPolicyIngressRule rule : np.getSpec().getIngress()) {
        assertFalse(rule.getFrom() == null || rule.getFrom().isEmpty(), name + " has a rule open to every source");
        assertFalse(rule.getPorts() == null || rule.getPorts().isEmpty(), name + " has a rule open on every port");
        Set<String> sources = new TreeSet<>();
        for (NetworkPolicyPeer peer : rule.getFrom()) {
          assertNull(peer.getIpBlock(), name + " admits an address block");
          if (peer.getNamespaceSelector() == null) {
            sources.addAll(m.select(peer.getPodSelector())); // pods of the policy's own namespace
          } else {
            Map<String, String> ownNamespace = Map.of("kubernetes.io/metadata.name", m.namespace());
            assertFalse(LabelSelectors.matches(peer.getNamespaceSelector(), ownNamespace)
                && LabelSelectors.matches(peer.getPodSelector(), Map.of()), name + " admits the whole namespace");
            assertTrue(LabelSelectors.matches(peer.getNamespaceSelector(), PROMETHEUS_NAMESPACE), name);
            assertTrue(LabelSelectors.matches(peer.getPodSelector(), PROMETHEUS_POD), name);
            assertTrue(m.select(peer.getPodSelector()).isEmpty(), name + ": the Prometheus peer selects graft pods");
            sources.add(PROMETHEUS);
          }
        }
        Container targetContainer = onlyContainer(m.workload(target));
        for (NetworkPolicyPort port : rule.getPorts()) {
          String portName = port.getPort().getStrVal();
          assertNotNull(portName, name + " names its ports");
          containerPort(targetContainer, portName); // the port exists on the target
          byPort.computeIfAbsent(portName, k -> new TreeSet<>()).addAll(sources);
        }
      }
      admitted.put(target, byPort);
    }
    Map<String, Map<String, Set<String>>> expected = new TreeMap<>(Map.of(
        "teacher", new TreeMap<>(Map.of("grpc", Set.of("trainer"), "metrics", Set.of(PROMETHEUS))),
        "sampler", new TreeMap<>(Map.of("grpc", Set.of("trainer"), "metrics", Set.of(PROMETHEUS))),
        "trainer", new TreeMap<>(Map.of("grpc", Set.of("sampler"), "metrics", Set.of(PROMETHEUS)))));
    // No policy names the plaintext health port: only the kubelet's probes use it, and they come
    // from the node, which NetworkPolicies do not govern on common network plugins.
    assertEquals(expected.toString(), sorted(admitted).toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void rbac_isTheLeastTheTrainerNeeds_inItsNamespace(String overlay) {
    RenderedManifests m = RenderedManifests.of(overlay);
    assertTrue(m.all(ClusterRole.class).isEmpty() && m.all(ClusterRoleBinding.class).isEmpty(), "no cluster-wide RBAC");
    assertEquals(1, m.all(Role.class).size());
    Role role = m.named(Role.class, "graft-trainer");
    List<String> rules = new ArrayList<>();
    for (PolicyRule r : role.getRules()) {
      rules.add(r.getApiGroups() + " " + r.getResources() + " " + r.getResourceNames() + " " + r.getVerbs());
    }
    assertEquals(List.of(
        "[discovery.k8s.io] [endpointslices] [] [get, list, watch]",
        "[apps] [deployments/scale] [graft-sampler] [get, update]"), rules);
    // The endpointslices rule is what the trainer's k8s:/// endpoints need; the samplers, which have
    // no token, reach the trainer by its DNS name and need none.
    String runYaml = m.all(ConfigMap.class).get(0).getData().get("run.yaml");
    assertTrue(runYaml.contains("\"k8s:///graft-teacher:50051\"") && runYaml.contains("\"k8s:///graft-sampler:50052\""),
        "the trainer follows its peers through the API:\n" + runYaml);
    String trainerAddress = RenderedManifests.env(onlyContainer(m.workload("sampler")), "GRAFT_SAMPLER_TRAINER");
    assertFalse(HostPort.parse(trainerAddress).resolved(), "a sampler without API access dials " + trainerAddress);
    m.named(Deployment.class, "graft-sampler"); // the name it may scale exists

    assertEquals(1, m.all(RoleBinding.class).size());
    RoleBinding binding = m.named(RoleBinding.class, "graft-trainer");
    assertEquals("Role", binding.getRoleRef().getKind());
    assertEquals("graft-trainer", binding.getRoleRef().getName());
    assertEquals(1, binding.getSubjects().size());
    Subject s = binding.getSubjects().get(0);
    assertEquals(List.of("ServiceAccount", "graft-trainer", m.namespace()), List.of(s.getKind(), s.getName(), s.getNamespace()));
    assertEquals("graft-trainer", m.workload("trainer").template().getSpec().getServiceAccountName());
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev-cpu", "gpu"})
  void disruptionBudgets_selectTheReplicasOfOneWorkload_andLetOneGoAtATime(String overlay) {
    RenderedManifests m = RenderedManifests.of(overlay);
    Set<String> covered = new TreeSet<>();
    for (PodDisruptionBudget pdb : m.all(PodDisruptionBudget.class)) {
      Set<String> selected = m.select(pdb.getSpec().getSelector());
      assertEquals(1, selected.size(), pdb.getMetadata().getName() + " selects " + selected);
      covered.addAll(selected);
      assertEquals(1, pdb.getSpec().getMaxUnavailable().getIntVal(), pdb.getMetadata().getName());
      assertNull(pdb.getSpec().getMinAvailable(), "a minAvailable on a single replica would block every drain");
    }
    assertEquals(Set.of("sampler", "teacher"), covered);
  }

  private static Map<String, Map<String, Set<String>>> sorted(Map<String, Map<String, Set<String>>> m) {
    Map<String, Map<String, Set<String>>> out = new TreeMap<>();
    m.forEach((k, v) -> {
      Map<String, Set<String>> inner = new TreeMap<>();
      v.forEach((p, s) -> inner.put(p, new TreeSet<>(s)));
      out.put(k, inner);
    });
    return out;
  }
}
