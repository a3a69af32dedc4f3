package dev.graft.cli;

import dev.graft.sampler.PolicyHolder;
import dev.graft.sampler.SamplerServer;
import dev.graft.sampler.sync.WeightSubscriber;
import dev.graft.trainer.distill.Endpoints;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code graft sampler}: a sampler-service replica that follows a trainer's policy versions. */
@Command(name = "sampler", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Serve a sampler-service replica (graft.v1.SamplerService) with health, reflection and",
        "Prometheus metrics. It subscribes to a student-trainer's policy service and installs each new",
        "version after a complete, verified download; it reports SERVING once it has the current one."})
final class SamplerCommand implements Callable<Integer> {

  @Option(names = "--trainer", required = true, paramLabel = "HOST:PORT",
      description = "The student-trainer's address (its status/policy port).")
  String trainer;

  @Option(names = "--port", defaultValue = "50052", description = "gRPC port; 0 picks a free one. Default: ${DEFAULT-VALUE}.")
  int port;

  @Option(names = "--metrics-port", defaultValue = "9465",
      description = "HTTP port of /metrics (Prometheus); -1 turns it off. Default: ${DEFAULT-VALUE}.")
  int metricsPort;

  @Option(names = "--slots", defaultValue = "8", description = "Sequences decoded together. Default: ${DEFAULT-VALUE}.")
  int slots;

  @Option(names = "--max-queued", defaultValue = "256",
      description = "Prompts queued before RESOURCE_EXHAUSTED. Default: ${DEFAULT-VALUE}.")
  int maxQueued;

  @Override
  public Integer call() throws Exception {
    Endpoints.parse(trainer);
    PolicyHolder holder = new PolicyHolder();
    SamplerServer server = SamplerServer.builder().policies(holder).port(port).metricsPort(metricsPort)
        .slots(slots).maxQueuedSequences(maxQueued).build().start();
    WeightSubscriber sub = WeightSubscriber.builder().endpoint(trainer).installer(holder).build();
    sub.start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      sub.close();
      server.close();
      holder.close();
    }, "sampler-shutdown"));
    System.out.println("sampler-service on port " + server.port() + ", following policy versions from "
        + trainer + (server.metricsPort() >= 0 ? ", metrics on port " + server.metricsPort() : ""));
    server.blockUntilShutdown();
    return 0;
  }
}
