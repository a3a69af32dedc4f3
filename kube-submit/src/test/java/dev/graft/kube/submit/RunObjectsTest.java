package dev.graft.kube.submit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.List;
import org.junit.jupiter.api.Test;

class RunObjectsTest {

  @Test
  void dryRunYaml_parsesBackIntoTheSameObjects() {
    RunObjects objects = new RunObjects(Specs.spec("dry", 2, 2, SubmitSpec.Device.GPU, 4));
    KubernetesSerialization yaml = new KubernetesSerialization();
    StringBuilder text = new StringBuilder();
    for (HasMetadata o : objects.all()) {
      text.append(yaml.asYaml(o));
    }
    List<HasMetadata> parsed = yaml.unmarshal(text.toString());
    assertEquals(objects.all(), parsed);
    assertEquals(List.of("StatefulSet", "ConfigMap", "ServiceAccount", "Role", "RoleBinding", "Deployment",
        "Deployment", "Service", "Service", "Service"), parsed.stream().map(HasMetadata::getKind).toList());
    assertTrue(parsed.stream().allMatch(o -> o.getMetadata().getOwnerReferences().isEmpty()),
        "a dry run has no owner uid to refer to");
  }

  @Test
  void trainerWithoutTheRunsTeachersOrSamplers_getsNoAccount() {
    SubmitSpec spec = new SubmitSpec(new RunNames("ns", "ext"), Specs.plan("train.steps=500",
        "onpolicy.fraction=0", "teacher.endpoints=teachers.example.com:50051"), 0, 0, SubmitSpec.Device.CPU,
        "graft:1", "1Gi", 0);
    List<String> kinds = new RunObjects(spec).all().stream().map(o -> o.getKind() + "/" + o.getMetadata().getName())
        .toList();
    assertEquals(List.of("StatefulSet/ext-trainer", "ConfigMap/ext-config", "Service/ext-trainer"), kinds);
    PodSpec pod = new RunObjects(spec).trainer().getSpec().getTemplate().getSpec();
    assertEquals(Boolean.FALSE, pod.getAutomountServiceAccountToken());
    assertNull(pod.getServiceAccountName());
  }

  @Test
  void runNames_mustBeDns1123Labels() {
    assertEquals("the run name 'My_Run' must be a DNS-1123 label: at most 40 characters of a-z, 0-9 and '-',"
            + " starting and ending with a letter or digit",
        assertThrows(IllegalArgumentException.class, () -> new RunNames("ns", "My_Run")).getMessage());
    assertEquals("the namespace '-ns' must be a DNS-1123 label: at most 63 characters of a-z, 0-9 and '-',"
            + " starting and ending with a letter or digit",
        assertThrows(IllegalArgumentException.class, () -> new RunNames("-ns", "run")).getMessage());
    assertThrows(IllegalArgumentException.class, () -> new RunNames("ns", "r".repeat(41)));
    assertEquals("r-trainer-0", new RunNames("ns", "r").trainerPod());
  }

  @Test
  void spec_rejectsImpossibleReplicaCounts() {
    assertEquals("onpolicy.fraction 0.25 > 0 needs --samplers M >= 1 (sampler-services fetch the student's"
            + " weights from this run's trainer)",
        assertThrows(IllegalArgumentException.class, () -> Specs.spec("r", 1, 0, SubmitSpec.Device.CPU, 0))
            .getMessage());
    assertEquals("--teachers (-1) and --samplers (1) must be >= 0",
        assertThrows(IllegalArgumentException.class, () -> Specs.spec("r", -1, 1, SubmitSpec.Device.CPU, 0))
            .getMessage());
    assertEquals("--teachers 0 needs teacher-services elsewhere: set teacher.endpoints in the run config, or give"
            + " --teachers N >= 1",
        assertThrows(IllegalArgumentException.class, () -> Specs.spec("r", 0, 1, SubmitSpec.Device.CPU, 0))
            .getMessage());
    assertEquals("--autoscale-max (1) needs an on-policy run with --samplers >= 1 and must be >= --samplers (2)",
        assertThrows(IllegalArgumentException.class, () -> Specs.spec("r", 1, 2, SubmitSpec.Device.CPU, 1))
            .getMessage());
  }

  @Test
  void spec_rejectsABadImageOrVolumeSize() {
    RunNames names = new RunNames("ns", "r");
    assertEquals("--storage 'ten' must be a Kubernetes quantity such as 10Gi",
        assertThrows(IllegalArgumentException.class, () -> new SubmitSpec(names, Specs.plan("train.steps=500"), 1, 1,
            SubmitSpec.Device.CPU, "graft:1", "ten", 0)).getMessage());
    assertEquals("--storage (0Gi) must be positive",
        assertThrows(IllegalArgumentException.class, () -> new SubmitSpec(names, Specs.plan("train.steps=500"), 1, 1,
            SubmitSpec.Device.CPU, "graft:1", "0Gi", 0)).getMessage());
    assertEquals("--image 'graft 1' must be an image reference without spaces, e.g. registry.example.com/graft:0.1.0",
        assertThrows(IllegalArgumentException.class, () -> new SubmitSpec(names, Specs.plan("train.steps=500"), 1, 1,
            SubmitSpec.Device.CPU, "graft 1", "1Gi", 0)).getMessage());
  }

  @Test
  void spec_offPolicyRunNeedsNoSamplers() {
    SubmitSpec spec = new SubmitSpec(new RunNames("ns", "off"), Specs.plan("train.steps=500",
        "onpolicy.fraction=0"), 1, 0, SubmitSpec.Device.CPU, "graft:1", "1Gi", 0);
    List<String> kinds = new RunObjects(spec).all().stream().map(o -> o.getKind() + "/" + o.getMetadata().getName())
        .toList();
    assertEquals(List.of("StatefulSet/off-trainer", "ConfigMap/off-config", "ServiceAccount/off-trainer",
        "Role/off-trainer", "RoleBinding/off-trainer", "Deployment/off-teacher", "Service/off-trainer",
        "Service/off-teacher"), kinds);
  }
}
