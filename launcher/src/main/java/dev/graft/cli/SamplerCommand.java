package dev.graft.cli;

import dev.graft.sampler.server.SamplerReplica;
import dev.graft.sampler.server.SamplerServer;
import dev.graft.service.TransportSecurity;
import dev.graft.sync.subscribe.WeightSubscriber;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code graft sampler}: the sampler-service role, a replica that follows a trainer's policy versions. */
@Command(name = "sampler", mixinStandardHelpOptions = true,
    header = "The sampler-service role: one replica following a trainer.", sortOptions = false,
    description = {"Serve a sampler-service replica (graft.v1.SamplerService) with health, reflection and "
            + "Prometheus metrics. It subscribes to a student-trainer's policy service and installs "
            + "each new version after a complete, verified download; it reports SERVING once it has the "
            + "current one."})
final class SamplerCommand implements Callable<Integer> {

  // Every option also reads GRAFT_SAMPLER_<OPTION> from the environment, so a pod sets it by env.
  @Option(names = "--trainer", required = true, paramLabel = "HOST:PORT",
      defaultValue = "${env:GRAFT_SAMPLER_TRAINER}",
      description = "The student-trainer's address (its status/policy port): host:port, "
          + "dns:///host:port or k8s:///service.namespace:port. Env: GRAFT_SAMPLER_TRAINER.")
  String trainer;

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
    TransportSecurity security = tls.security("graft sampler");
    SamplerReplica replica = SamplerReplica.start(SamplerServer.builder().device(device.device())
            .port(port).metricsPort(metricsPort)
            .slots(slots).maxQueuedSequences(maxQueued).maxNewTokensLimit(maxNewTokens)
            .shutdownGrace(Duration.ofSeconds(shutdownGraceSeconds)).security(security)
            .maxConnectionAge(Duration.ofSeconds(maxConnectionAgeSeconds)),
        WeightSubscriber.builder().endpoint(trainer).security(security));
    Runtime.getRuntime().addShutdownHook(new Thread(replica::close, "sampler-shutdown"));
    System.out.println("sampler-service on port " + replica.port() + ", following policy versions from "
        + trainer + (replica.metricsPort() >= 0 ? ", metrics on port " + replica.metricsPort() : ""));
    replica.blockUntilShutdown();
    return 0;
  }
}
