package dev.graft.cli;

import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.sampler.server.FixedModelSampler;
import dev.graft.sampler.server.SamplerReplica;
import dev.graft.sampler.server.SamplerServer;
import dev.graft.sampler.server.SamplerServerOptions;
import dev.graft.service.TransportSecurity;
import dev.graft.sync.subscribe.WeightSubscriber;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code graft sampler}: the sampler-service role, a replica that follows a trainer's policy
 * versions ({@code --trainer}) or serves a fixed checkpoint, the teacher ({@code --model}).
 */
@Command(name = "sampler", mixinStandardHelpOptions = true,
    header = "The sampler-service role: one replica following a trainer, or serving the teacher.",
    sortOptions = false,
    description = {"Serve a sampler-service replica (graft.v1.SamplerService) with health, reflection and "
            + "Prometheus metrics. With --trainer it subscribes to a student-trainer's policy service and "
            + "installs each new version after a complete, verified download; it reports SERVING once it has "
            + "the current one (on-policy rows). With --model it serves that checkpoint, the teacher, for "
            + "sequence-level distillation (seqkd rows): it reports the model's fingerprint in GetInfo, as "
            + "the teacher-service serving the same checkpoint does, and refuses requests for another model "
            + "(FAILED_PRECONDITION). Exactly one of --trainer and --model."})
final class SamplerCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  // Every option also reads GRAFT_SAMPLER_<OPTION> from the environment, so a pod sets it by env.
  @Option(names = "--trainer", paramLabel = "HOST:PORT",
      defaultValue = "${env:GRAFT_SAMPLER_TRAINER}",
      description = "The student-trainer's address (its status/policy port): host:port, "
          + "dns:///host:port or k8s:///service.namespace:port. Env: GRAFT_SAMPLER_TRAINER.")
  String trainer;

  @Option(names = "--model", paramLabel = "DIR", defaultValue = "${env:GRAFT_SAMPLER_MODEL}",
      description = "Serve this checkpoint (Hugging Face layout: config.json and safetensors), the teacher, "
          + "instead of following a trainer: the teacher-serving sampler of seqkd.samplers. Env: GRAFT_SAMPLER_MODEL.")
  Path model;

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "${env:GRAFT_SAMPLER_PORT:-50052}",
      description = "gRPC port; 0 picks a free one. Default: ${DEFAULT-VALUE} (env GRAFT_SAMPLER_PORT).")
  int port;

  @Option(names = "--metrics-port", paramLabel = "PORT", defaultValue = "${env:GRAFT_SAMPLER_METRICS_PORT:-9465}",
      description = "HTTP port of /metrics (Prometheus); -1 turns it off. "
          + "Default: ${DEFAULT-VALUE} (env GRAFT_SAMPLER_METRICS_PORT).")
  int metricsPort;

  @Option(names = "--slots", paramLabel = "N", defaultValue = "${env:GRAFT_SAMPLER_SLOTS:-8}",
      description = "Sequences decoded together. Default: ${DEFAULT-VALUE} (env GRAFT_SAMPLER_SLOTS).")
  int slots;

  @Option(names = "--max-queued", paramLabel = "N", defaultValue = "${env:GRAFT_SAMPLER_MAX_QUEUED:-256}",
      description = "Prompts queued before RESOURCE_EXHAUSTED. "
          + "Default: ${DEFAULT-VALUE} (env GRAFT_SAMPLER_MAX_QUEUED).")
  int maxQueued;

  @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "${env:GRAFT_SAMPLER_MAX_NEW_TOKENS:-1024}",
      description = "The largest max_new_tokens a request may ask for. "
          + "Default: ${DEFAULT-VALUE} (env GRAFT_SAMPLER_MAX_NEW_TOKENS).")
  int maxNewTokens;

  @Option(names = "--shutdown-grace-s", paramLabel = "SECONDS",
      defaultValue = "${env:GRAFT_SAMPLER_SHUTDOWN_GRACE_S:-30}",
      description = "Seconds in-flight streams may finish after SIGTERM before they are cancelled. "
          + "Default: ${DEFAULT-VALUE} (env GRAFT_SAMPLER_SHUTDOWN_GRACE_S).")
  long shutdownGraceSeconds;

  @Option(names = "--max-connection-age-s", paramLabel = "SECONDS",
      defaultValue = "${env:GRAFT_SAMPLER_MAX_CONNECTION_AGE_S:-300}",
      description = "Seconds a client connection lives before the client is asked to reconnect, so that "
          + "long-lived channels rebalance over replicas that started later; in-flight calls get the "
          + "shutdown grace to finish. 0 = for ever. Default: ${DEFAULT-VALUE} (env GRAFT_SAMPLER_MAX_CONNECTION_AGE_S).")
  long maxConnectionAgeSeconds;

  @Mixin
  DeviceOption device = new DeviceOption();

  @Mixin
  TlsOptions tls = new TlsOptions();

  @Override
  public Integer call() throws Exception {
    boolean follows = trainer != null && !trainer.isBlank();
    if (follows == (model != null)) {
      throw new ParameterException(spec.commandLine(), follows
          ? "give either --trainer (follow a trainer's policy versions) or --model (serve the teacher), not both"
          : "give --trainer HOST:PORT (follow a trainer's policy versions) or --model DIR (serve the teacher)");
    }
    if (model != null && !Files.isRegularFile(model.resolve(HfCheckpoint.CONFIG_FILE))) {
      throw new ParameterException(spec.commandLine(), "--model " + model + " holds no "
          + HfCheckpoint.CONFIG_FILE + "; give a checkpoint directory in Hugging Face layout");
    }
    TransportSecurity security = tls.security("graft sampler");
    if (model != null) {
      return serveModel(security);
    }
    SamplerReplica replica = SamplerReplica.start(server(security),
        WeightSubscriber.builder().endpoint(trainer).security(security));
    Runtime.getRuntime().addShutdownHook(new Thread(replica::close, "sampler-shutdown"));
    System.out.println("sampler-service on port " + replica.port() + ", following policy versions from "
        + trainer + (replica.metricsPort() >= 0 ? ", metrics on port " + replica.metricsPort() : ""));
    replica.blockUntilShutdown();
    return 0;
  }

  private int serveModel(TransportSecurity security) throws Exception {
    FixedModelSampler sampler = FixedModelSampler.start(server(security), model);
    Runtime.getRuntime().addShutdownHook(new Thread(sampler::close, "sampler-shutdown"));
    System.out.println("sampler-service on port " + sampler.port() + ", serving " + model + " (model "
        + sampler.fingerprint() + ")" + (sampler.metricsPort() >= 0 ? ", metrics on port " + sampler.metricsPort() : ""));
    sampler.blockUntilShutdown();
    return 0;
  }

  private SamplerServerOptions.Builder server(TransportSecurity security) {
    return SamplerServer.builder().device(device.device())
        .port(port).metricsPort(metricsPort)
        .slots(slots).maxQueuedSequences(maxQueued).maxNewTokensLimit(maxNewTokens)
        .shutdownGrace(Duration.ofSeconds(shutdownGraceSeconds)).security(security)
        .maxConnectionAge(Duration.ofSeconds(maxConnectionAgeSeconds));
  }
}
