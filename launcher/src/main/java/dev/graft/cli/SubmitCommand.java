package dev.graft.cli;

import dev.graft.kube.submit.PortForwardStatus;
import dev.graft.kube.submit.ReadinessWait;
import dev.graft.kube.submit.RunNames;
import dev.graft.kube.submit.RunObjects;
import dev.graft.kube.submit.RunSubmitter;
import dev.graft.kube.submit.StatusFollower;
import dev.graft.kube.submit.SubmitSpec;
import dev.graft.service.Backoff;
import dev.graft.service.TransportSecurity;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.grpc.ChannelCredentials;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code graft submit}: a run on Kubernetes through its API — create, wait, follow; or delete. */
@Command(name = "submit", mixinStandardHelpOptions = true, sortOptions = false,
    header = "Run a retrofit on Kubernetes: create its workloads, wait until ready, follow it to the end.",
    description = {"Checks RUN_YAML (a run config, as for `graft trainer --config`) and creates, through the"
        + " Kubernetes API of the current kubeconfig context: the trainer StatefulSet (one pod, a volume for"
        + " checkpoints and published weights) that owns everything else — the run's ConfigMap, the teacher and"
        + " sampler Deployments and a headless Service per role — so that deleting the run removes it all."
        + " Then it waits until every replica is ready and prints the trainer's status (through a"
        + " port-forward) until the run ends: exit 0 when it finishes, non-zero with the reason when it fails.",
        "",
        "Every role runs mutual TLS with its certificate from the Secret PREFIX-teacher, PREFIX-sampler or"
        + " PREFIX-trainer (--tls-secret-prefix; create them first, see docs/kubernetes.md), and graft submit"
        + " follows the trainer's status with --tls-cert/--tls-key/--tls-ca of an identity the trainer allows"
        + " (operator). --plaintext runs every role and the status link without TLS: for trusted development"
        + " clusters only.",
        "",
        "`graft submit --delete RUN --namespace NS` deletes a run; `--dry-run` prints the objects as YAML and"
        + " contacts no cluster."})
final class SubmitCommand implements Callable<Integer> {

  @Parameters(paramLabel = "RUN_YAML", arity = "0..1",
      description = "The run config (YAML); its resolved form goes into the run's ConfigMap.")
  Path config;

  @Option(names = {"-n", "--namespace"}, required = true, paramLabel = "NS",
      description = "Namespace of the run (a DNS-1123 label; it must exist).")
  String namespace;

  @Option(names = "--name", paramLabel = "RUN",
      description = "Name of the run (a DNS-1123 label, at most " + RunNames.MAX_RUN_LENGTH + " characters);"
          + " default: RUN_YAML's file name without extension.")
  String name;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override one key of RUN_YAML, as for `graft trainer`; repeatable.")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--teachers", paramLabel = "N", defaultValue = "1",
      description = "Teacher-service replicas (default: ${DEFAULT-VALUE}; 0: use teacher.endpoints of RUN_YAML).")
  int teachers;

  @Option(names = "--samplers", paramLabel = "M", defaultValue = "1",
      description = "Sampler-service replicas (default: ${DEFAULT-VALUE}; at least 1 for an on-policy run).")
  int samplers;

  @Option(names = "--device", paramLabel = "cpu|gpu", defaultValue = "cpu",
      description = "Where every role computes; gpu asks each pod for one nvidia.com/gpu (default: ${DEFAULT-VALUE}).")
  String device;

  @Option(names = "--image", paramLabel = "IMAGE", defaultValue = "${env:GRAFT_IMAGE:-graft:latest}",
      description = "The graft image every role runs (default: $GRAFT_IMAGE, else graft:latest).")
  String image;

  @Option(names = "--storage", paramLabel = "SIZE", defaultValue = "10Gi",
      description = "Size of the trainer's volume (default: ${DEFAULT-VALUE}).")
  String storage;

  @Option(names = "--autoscale-max", paramLabel = "N", defaultValue = "0",
      description = "Let the trainer scale the samplers between --samplers and N when it waits on rollouts"
          + " (adds get and update on this run's deployments/scale to the trainer's Role); 0: off (default).")
  int autoscaleMax;

  @Option(names = "--replace", description = "Delete a run of the same name first, instead of refusing.")
  boolean replace;

  @Option(names = "--dry-run", description = "Print every object as YAML and contact no cluster.")
  boolean dryRun;

  @Option(names = "--no-follow", description = "Return once the run is ready instead of following it.")
  boolean noFollow;

  @Option(names = "--ready-timeout-s", paramLabel = "SECONDS", defaultValue = "900",
      description = "How long to wait for every replica to be ready (default: ${DEFAULT-VALUE}).")
  long readyTimeoutSeconds;

  @Option(names = "--delete", paramLabel = "RUN", description = "Delete run RUN (its trainer StatefulSet and"
      + " everything it owns) instead of submitting.")
  String delete;

  @Option(names = "--propagation", paramLabel = "foreground|background", defaultValue = "foreground",
      description = "With --delete: foreground waits until the cluster has removed the run's pods and owned"
          + " objects; background returns at once and the garbage collector removes them (default: ${DEFAULT-VALUE}).")
  String propagation;

  @Option(names = "--tls-secret-prefix", paramLabel = "PREFIX",
      description = "The roles' certificates come from the Secrets PREFIX-teacher, PREFIX-sampler and"
          + " PREFIX-trainer of the namespace (keys tls.crt, tls.key, ca.crt); default: "
          + SubmitSpec.DEFAULT_TLS_SECRET_PREFIX + ". Not with --plaintext.")
  String tlsSecretPrefix;

  /**
   * The client certificate that follows the trainer's status (identity {@code operator});
   * {@code --plaintext} also runs every role of the run without TLS.
   */
  @Mixin
  TlsClientOptions tls = new TlsClientOptions();

  @Option(names = "--kube-context", paramLabel = "CONTEXT",
      description = "The kubeconfig context to use (default: the current one).")
  String context;

  /** Interval of the readiness and status polls. */
  private final Duration poll;
  private final Function<String, KubernetesClient> connect;
  private final PrintStream out;

  SubmitCommand() {
    this(SubmitCommand::connect, System.out, Duration.ofSeconds(5));
  }

  /** A client for the kubeconfig's {@code context} (null: the current one). */
  private static KubernetesClient connect(String context) {
    Config config = Config.autoConfigure(context);
    // A person is waiting: three retries (about a second), not the client's default of ten (about 20 s).
    config.setRequestRetryBackoffLimit(3);
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  /** For tests: a client for the context, where to print, how often to poll. */
  SubmitCommand(Function<String, KubernetesClient> connect, PrintStream out, Duration poll) {
    this.connect = connect;
    this.out = out;
    this.poll = poll;
  }

  @Override
  public Integer call() throws Exception {
    if (delete != null) {
      if (config != null || dryRun) {
        throw new IllegalArgumentException("--delete takes no RUN_YAML and no --dry-run");
      }
      RunNames names = new RunNames(namespace, delete);
      DeletionPropagation how = switch (propagation.toLowerCase(Locale.ROOT)) {
        case "foreground" -> DeletionPropagation.FOREGROUND;
        case "background" -> DeletionPropagation.BACKGROUND;
        default -> throw new IllegalArgumentException("--propagation '" + propagation
            + "' must be foreground or background");
      };
      try (KubernetesClient client = connect.apply(context)) {
        List<String> removed = new RunSubmitter(client, out).delete(names, how,
            how == DeletionPropagation.FOREGROUND ? readyTimeout() : Duration.ZERO);
        out.println("run " + delete + " deleted from namespace " + namespace + " (" + removed.size() + " objects"
            + (how == DeletionPropagation.BACKGROUND ? "; the cluster removes the pods in the background)" : ")"));
      }
      return 0;
    }
    SubmitSpec spec = spec();
    TransportSecurity statusSecurity = dryRun || noFollow ? null : statusSecurity();
    if (dryRun) {
      KubernetesSerialization yaml = new KubernetesSerialization();
      for (HasMetadata o : new RunObjects(spec).all()) {
        out.print(yaml.asYaml(o));
      }
      return 0;
    }
    try (KubernetesClient client = connect.apply(context)) {
      new RunSubmitter(client, out).submit(spec, replace, readyTimeout());
      new ReadinessWait(client, out, Clock.systemUTC(), Backoff.Sleeper.SYSTEM, poll).await(spec, readyTimeout());
      if (noFollow) {
        out.println("follow it with `kubectl -n " + namespace + " logs -f " + spec.names().trainerPod()
            + "`; delete it with `graft submit --delete " + spec.names().run() + " --namespace " + namespace + "`");
        return 0;
      }
      try (TransportSecurity.Opened<ChannelCredentials> credentials = statusSecurity.openClient();
          PortForwardStatus status = new PortForwardStatus(client, spec.names(), credentials.credentials())) {
        new StatusFollower(client, out, Backoff.Sleeper.SYSTEM, poll, TrainerStatusCommand::describe)
            .follow(spec.names(), status);
      }
      return 0;
    }
  }

  /** Every input checked, before anything touches a cluster. */
  SubmitSpec spec() {
    if (config == null) {
      throw new IllegalArgumentException("graft submit needs RUN_YAML (or --delete RUN)");
    }
    if (!Files.isRegularFile(config)) {
      throw new IllegalArgumentException("run config " + config + " is not a file");
    }
    String run = name != null ? name : defaultName(config);
    RunNames names = new RunNames(namespace, run);
    RunPlan plan = RunPlan.of(RunConfig.load(config, overrides));
    SubmitSpec.Device where = switch (device.toLowerCase(Locale.ROOT)) {
      case "cpu" -> SubmitSpec.Device.CPU;
      case "gpu" -> SubmitSpec.Device.GPU;
      default -> throw new IllegalArgumentException("--device '" + device + "' must be cpu or gpu");
    };
    if (readyTimeoutSeconds < 1) {
      throw new IllegalArgumentException("--ready-timeout-s (" + readyTimeoutSeconds + ") must be >= 1");
    }
    if (tls.plaintext && tlsSecretPrefix != null) {
      throw new IllegalArgumentException("--plaintext runs the roles without certificates: it takes no"
          + " --tls-secret-prefix");
    }
    String secrets = tls.plaintext ? null
        : tlsSecretPrefix != null ? tlsSecretPrefix : SubmitSpec.DEFAULT_TLS_SECRET_PREFIX;
    return new SubmitSpec(names, plan, teachers, samplers, where, image, storage, autoscaleMax, secrets);
  }

  /**
   * How {@code graft submit} reaches the trainer's status: plaintext with {@code --plaintext}, else
   * TLS with a client certificate, which the trainer requires under mutual TLS. Checked (files
   * read) before anything is created.
   */
  TransportSecurity statusSecurity() {
    if (!tls.plaintext && (tls.cert == null || tls.key == null)) {
      throw new IllegalArgumentException("graft submit follows the trainer's status over mutual TLS: give"
          + " --tls-cert and --tls-key of an identity the trainer allows (operator) and --tls-ca (or"
          + " GRAFT_TLS_CERT/GRAFT_TLS_KEY/GRAFT_TLS_CA), or --no-follow; --plaintext only where the run's roles"
          + " run without TLS");
    }
    return tls.security("graft submit");
  }

  private Duration readyTimeout() {
    return Duration.ofSeconds(readyTimeoutSeconds);
  }

  /** {@code runs/My_Run.yaml} → {@code my-run}. */
  static String defaultName(Path config) {
    String file = config.getFileName().toString();
    int dot = file.lastIndexOf('.');
    String base = (dot > 0 ? file.substring(0, dot) : file).toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-")
        .replaceAll("^-+|-+$", "");
    if (base.isEmpty()) {
      throw new IllegalArgumentException("cannot name the run after " + config + ": give --name RUN");
    }
    return base;
  }
}
