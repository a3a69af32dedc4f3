package dev.graft.kube.submit;

import dev.graft.kube.submit.RunNames.Role;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import java.util.ArrayList;
import java.util.List;

/**
 * The Kubernetes objects of one run, built with fabric8's builders: the trainer StatefulSet (one
 * replica, a volume per pod for checkpoints and published weights), which owns everything else —
 * the run's ConfigMap (its resolved {@code run.yaml}), the teacher and sampler Deployments, a
 * headless Service per role and, when the trainer follows this run's teachers or samplers
 * ({@code k8s:///} endpoints) or autoscales, the trainer's ServiceAccount, Role and RoleBinding. Deleting the StatefulSet lets the cluster's garbage collector remove the rest.
 */
public final class RunObjects {

  /** Where the trainer reads the run config (the ConfigMap's {@value #CONFIG_KEY}). */
  public static final String CONFIG_DIR = "/etc/graft";
  public static final String CONFIG_KEY = "run.yaml";
  /** The trainer's volume: the run's checkpoints, step logs, published weights and student. */
  public static final String DATA_DIR = "/var/lib/graft";
  public static final String GPU_RESOURCE = "nvidia.com/gpu";

  private final SubmitSpec spec;
  private final RunNames names;
  private final PodTemplates pods;

  public RunObjects(SubmitSpec spec) {
    this.spec = spec;
    this.names = spec.names();
    this.pods = new PodTemplates(spec);
  }

  /** The owner of the run: deleting it deletes the run. */
  public StatefulSet trainer() {
    Role role = Role.TRAINER;
    return new StatefulSetBuilder()
        .withMetadata(meta(names.of(role), role, null))
        .withNewSpec()
          .withReplicas(1)
          .withServiceName(names.of(role))
          .withNewSelector().withMatchLabels(names.selector(role)).endSelector()
          .withTemplate(pods.template(role, trainerArgs(),
              List.of(new VolumeMountBuilder().withName("data").withMountPath(DATA_DIR).build(),
                  new VolumeMountBuilder().withName("config").withMountPath(CONFIG_DIR).withReadOnly().build())))
          .addToVolumeClaimTemplates(new PersistentVolumeClaimBuilder()
              .withNewMetadata().withName("data").withLabels(names.selector(role)).endMetadata()
              .withNewSpec()
                .withAccessModes("ReadWriteOnce")
                .withNewResources().addToRequests("storage", new Quantity(spec.storage())).endResources()
              .endSpec()
              .build())
        .endSpec()
        .build();
  }

  /**
   * Everything the trainer owns, each with an owner reference to it.
   *
   * @param owner the trainer StatefulSet as the API server returned it (its uid); null for a dry run
   */
  public List<HasMetadata> owned(StatefulSet owner) {
    OwnerReference ref = owner == null ? null : ownerReference(owner);
    List<HasMetadata> out = new ArrayList<>();
    out.add(configMap(ref));
    if (spec.discovery() || spec.autoscale()) {
      out.addAll(rbac(ref));
    }
    if (spec.teachers() > 0) {
      out.add(deployment(Role.TEACHER, spec.teachers(), teacherArgs(), ref));
    }
    if (spec.samplers() > 0) {
      out.add(deployment(Role.SAMPLER, spec.samplers(), samplerArgs(), ref));
    }
    out.add(service(Role.TRAINER, ref));
    if (spec.teachers() > 0) {
      out.add(service(Role.TEACHER, ref));
    }
    if (spec.samplers() > 0) {
      out.add(service(Role.SAMPLER, ref));
    }
    return List.copyOf(out);
  }

  /** The trainer first, then what it owns (without owner references: their uid is the server's). */
  public List<HasMetadata> all() {
    List<HasMetadata> out = new ArrayList<>();
    out.add(trainer());
    out.addAll(owned(null));
    return List.copyOf(out);
  }

  /** The reference every owned object carries: the controller, blocking foreground deletion. */
  public static OwnerReference ownerReference(StatefulSet owner) {
    if (owner.getMetadata().getUid() == null) {
      throw new IllegalStateException("the trainer StatefulSet " + owner.getMetadata().getName() + " has no uid");
    }
    return new OwnerReferenceBuilder()
        .withApiVersion(owner.getApiVersion() != null ? owner.getApiVersion() : "apps/v1")
        .withKind("StatefulSet")
        .withName(owner.getMetadata().getName())
        .withUid(owner.getMetadata().getUid())
        .withController(true)
        .withBlockOwnerDeletion(true)
        .build();
  }

  ConfigMap configMap(OwnerReference ref) {
    return new ConfigMapBuilder()
        .withMetadata(meta(names.configMap(), Role.TRAINER, ref))
        .addToData(CONFIG_KEY, spec.runYaml())
        .build();
  }

  private Deployment deployment(Role role, int replicas, List<String> args, OwnerReference ref) {
    return new DeploymentBuilder()
        .withMetadata(meta(names.of(role), role, ref))
        .withNewSpec()
          .withReplicas(replicas)
          .withNewSelector().withMatchLabels(names.selector(role)).endSelector()
          .withTemplate(pods.template(role, args, List.of()))
        .endSpec()
        .build();
  }

  /** A headless Service: its DNS name resolves to every ready pod of the role. */
  private Service service(Role role, OwnerReference ref) {
    return new ServiceBuilder()
        .withMetadata(meta(names.of(role), role, ref))
        .withNewSpec()
          .withClusterIP("None")
          .withSelector(names.selector(role))
          .addNewPort().withName("grpc").withPort(role.grpcPort()).withNewTargetPort("grpc")
            .withAppProtocol("kubernetes.io/h2c").endPort()
          .addNewPort().withName("metrics").withPort(role.metricsPort()).withNewTargetPort("metrics").endPort()
        .endSpec()
        .build();
  }

  /**
   * The least the trainer needs: follow EndpointSlices in the run's namespace (the {@code k8s:///}
   * resolver watches them by label, so no object names can narrow it) and, with the autoscaler,
   * read and change the scale of this run's sampler Deployment.
   */
  private List<HasMetadata> rbac(OwnerReference ref) {
    String sa = names.serviceAccount();
    List<PolicyRule> rules = new ArrayList<>();
    if (spec.discovery()) {
      rules.add(new PolicyRuleBuilder().withApiGroups("discovery.k8s.io").withResources("endpointslices")
          .withVerbs("get", "list", "watch").build());
    }
    if (spec.autoscale()) {
      rules.add(new PolicyRuleBuilder().withApiGroups("apps").withResources("deployments/scale")
          .withResourceNames(names.of(Role.SAMPLER)).withVerbs("get", "update").build());
    }
    return List.of(
        new ServiceAccountBuilder().withMetadata(meta(sa, Role.TRAINER, ref)).build(),
        new RoleBuilder().withMetadata(meta(sa, Role.TRAINER, ref)).withRules(rules).build(),
        new RoleBindingBuilder().withMetadata(meta(sa, Role.TRAINER, ref))
            .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName(sa).endRoleRef()
            .addNewSubject().withKind("ServiceAccount").withName(sa).withNamespace(names.namespace()).endSubject()
            .build());
  }

  private ObjectMeta meta(String name, Role role, OwnerReference ref) {
    ObjectMetaBuilder b = new ObjectMetaBuilder().withName(name).withNamespace(names.namespace())
        .withLabels(names.labels(role));
    if (ref != null) {
      b.withOwnerReferences(ref);
    }
    return b.build();
  }

  /**
   * {@code graft trainer}: the mounted config, with the run's Services as its peers, each one
   * channel balanced over its ready replicas ({@code k8s:///}).
   */
  List<String> trainerArgs() {
    List<String> args = new ArrayList<>(List.of("trainer", "--config", CONFIG_DIR + "/" + CONFIG_KEY));
    if (spec.teachers() > 0) {
      args.addAll(List.of("--set", "teacher.endpoints=" + names.discoveryTarget(Role.TEACHER)));
    }
    if (spec.samplers() > 0) {
      args.addAll(List.of("--set", "onpolicy.samplers=" + names.discoveryTarget(Role.SAMPLER)));
    }
    args.addAll(List.of("--set", "server.port=" + Role.TRAINER.grpcPort(),
        "--set", "server.metrics_port=" + Role.TRAINER.metricsPort(),
        "--set", "output=" + DATA_DIR + "/run",
        "--device", spec.device().flag(),
        "--stop-grace-s", Long.toString(PodTemplates.TRAINER_STOP_GRACE_SECONDS)));
    if (spec.autoscale()) {
      args.addAll(List.of("--autoscale-deployment", names.of(Role.SAMPLER),
          "--autoscale-min", Integer.toString(spec.samplers()),
          "--autoscale-max", Integer.toString(spec.autoscaleMax())));
    }
    return List.copyOf(args);
  }

  /** {@code graft teacher}: the run's teacher checkpoint when it names one, else the image's embedded model. */
  List<String> teacherArgs() {
    List<String> args = new ArrayList<>(List.of("teacher", "--port", Integer.toString(Role.TEACHER.grpcPort()),
        "--metrics-port", Integer.toString(Role.TEACHER.metricsPort()), "--device", spec.device().flag()));
    if (spec.plan().teacher().model() != null) {
      args.addAll(List.of("--checkpoint", spec.plan().teacher().model().toString()));
    }
    return List.copyOf(args);
  }

  /**
   * {@code graft sampler}: follows this run's single trainer by its headless Service's DNS name,
   * which needs no API access (the samplers mount no token).
   */
  List<String> samplerArgs() {
    return List.of("sampler", "--trainer", names.serviceAddress(Role.TRAINER),
        "--port", Integer.toString(Role.SAMPLER.grpcPort()),
        "--metrics-port", Integer.toString(Role.SAMPLER.metricsPort()), "--device", spec.device().flag());
  }
}
