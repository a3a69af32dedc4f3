package dev.graft.cli;

import dev.graft.model.VocabBudget;
import dev.graft.teacher.server.TeacherServer;
import dev.graft.teacher.server.TeacherServerOptions;
import dev.graft.trainer.Home;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code graft teacher}: the teacher-service role, a replica that serves a frozen checkpoint until stopped. */
@Command(name = "teacher", mixinStandardHelpOptions = true,
    header = "The teacher-service role: one replica serving a checkpoint.", sortOptions = false,
    description = {"Serve a checkpoint as a teacher-service replica (graft.v1.TeacherService) with health, "
            + "reflection and Prometheus metrics, until stopped (SIGTERM finishes in-flight streams "
            + "first). Without --checkpoint it serves the embedded base model."})
final class TeacherCommand implements Callable<Integer> {

  @ParentCommand
  GraftCommand parent;

  // Every option also reads GRAFT_TEACHER_<OPTION> from the environment, so a pod sets it by env.
  @Option(names = "--checkpoint", paramLabel = "DIR", defaultValue = "${env:GRAFT_TEACHER_CHECKPOINT}",
      description = "Hugging Face checkpoint directory (config.json, safetensors, tokenizer.json). "
          + "Env: GRAFT_TEACHER_CHECKPOINT.")
  Path checkpoint;

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "${env:GRAFT_TEACHER_PORT:-50051}",
      description = "gRPC port; 0 picks a free one. Default: ${DEFAULT-VALUE} (env GRAFT_TEACHER_PORT).")
  int port;

  @Option(names = "--metrics-port", paramLabel = "PORT", defaultValue = "${env:GRAFT_TEACHER_METRICS_PORT:-9464}",
      description = "HTTP port of /metrics (Prometheus); -1 turns it off. "
          + "Default: ${DEFAULT-VALUE} (env GRAFT_TEACHER_METRICS_PORT).")
  int metricsPort;

  @Option(names = "--max-sequence-length", paramLabel = "N",
      defaultValue = "${env:GRAFT_TEACHER_MAX_SEQUENCE_LENGTH:-0}",
      description = "Longest sequence per request; 0 = the model's max_position_embeddings. "
          + "Env: GRAFT_TEACHER_MAX_SEQUENCE_LENGTH.")
  int maxSequenceLength;

  @Option(names = "--max-tokens-per-request", paramLabel = "N",
      defaultValue = "${env:GRAFT_TEACHER_MAX_TOKENS_PER_REQUEST:-0}",
      description = "Most tokens (batch x length) per request; 0 = 16384. Env: GRAFT_TEACHER_MAX_TOKENS_PER_REQUEST.")
  int maxTokensPerRequest;

  @Option(names = "--capacity-tokens", paramLabel = "N", defaultValue = "${env:GRAFT_TEACHER_CAPACITY_TOKENS:-0}",
      description = "Tokens queued or in flight before new requests get RESOURCE_EXHAUSTED; 0 = four full "
          + "requests. Env: GRAFT_TEACHER_CAPACITY_TOKENS.")
  long capacityTokens;

  @Option(names = "--max-batch-tokens", paramLabel = "N", defaultValue = "${env:GRAFT_TEACHER_MAX_BATCH_TOKENS:-0}",
      description = "Padded tokens per forward pass when requests are batched together; 0 = one full request. "
          + "Env: GRAFT_TEACHER_MAX_BATCH_TOKENS.")
  int maxBatchTokens;

  @Option(names = "--max-wait-ms", paramLabel = "MS", defaultValue = "${env:GRAFT_TEACHER_MAX_WAIT_MS:-2}",
      description = "How long a forward pass waits for more requests to batch with. "
          + "Default: ${DEFAULT-VALUE} (env GRAFT_TEACHER_MAX_WAIT_MS).")
  long maxWaitMs;

  @Option(names = "--chunk-bytes", paramLabel = "BYTES",
      defaultValue = "${env:GRAFT_TEACHER_CHUNK_BYTES:-" + TeacherServerOptions.DEFAULT_CHUNK_BYTES + "}",
      description = "Byte budget of one streamed response message, in [1024, 4000000]. "
          + "Default: ${DEFAULT-VALUE} (env GRAFT_TEACHER_CHUNK_BYTES).")
  int chunkBytes;

  @Option(names = "--vocab-budget-mb", paramLabel = "MIB", defaultValue = "${env:GRAFT_TEACHER_VOCAB_BUDGET_MB}",
      description = "MiB that (positions x vocabulary) buffers may take at once, in [1, 1048576]; requests are "
          + "scored a chunk of positions at a time within it. Default: 1/32 of this machine's memory, "
          + "at least 64 and at most 1024. Env: GRAFT_TEACHER_VOCAB_BUDGET_MB.")
  Long vocabBudgetMb;

  @Option(names = "--max-hidden-state-bytes", paramLabel = "BYTES",
      defaultValue = "${env:GRAFT_TEACHER_MAX_HIDDEN_STATE_BYTES:-0}",
      description = "Most bytes of hidden states one request may ask for (layers x points x tokens x hidden x 4); "
          + "0 = 1073741824 (1 GiB). Env: GRAFT_TEACHER_MAX_HIDDEN_STATE_BYTES.")
  long maxHiddenStateBytes;

  @Option(names = "--shutdown-grace-s", paramLabel = "SECONDS",
      defaultValue = "${env:GRAFT_TEACHER_SHUTDOWN_GRACE_S:-30}",
      description = "Seconds in-flight streams may finish after SIGTERM before they are cancelled. "
          + "Default: ${DEFAULT-VALUE} (env GRAFT_TEACHER_SHUTDOWN_GRACE_S).")
  long shutdownGraceSeconds;

  @Option(names = "--max-connection-age-s", paramLabel = "SECONDS",
      defaultValue = "${env:GRAFT_TEACHER_MAX_CONNECTION_AGE_S:-300}",
      description = "Seconds a client connection lives before the client is asked to reconnect, so that "
          + "long-lived channels rebalance over replicas that started later; in-flight calls get the "
          + "shutdown grace to finish. 0 = for ever. Default: ${DEFAULT-VALUE} (env GRAFT_TEACHER_MAX_CONNECTION_AGE_S).")
  long maxConnectionAgeSeconds;

  @Mixin
  DeviceOption device = new DeviceOption();

  @Mixin
  TlsOptions tls = new TlsOptions();

  @Override
  public Integer call() throws Exception {
    Path dir = checkpoint != null ? checkpoint
        : new Home(parent.home).model(new PretrainOptions().modelName("brown"));
    TeacherServer server = TeacherServer.builder().device(device.device()).checkpoint(dir).port(port).metricsPort(metricsPort)
        .maxSequenceLength(maxSequenceLength).maxTokensPerRequest(maxTokensPerRequest)
        .capacityTokens(capacityTokens).maxBatchTokens(maxBatchTokens).maxWait(Duration.ofMillis(maxWaitMs))
        .chunkBytes(chunkBytes).maxHiddenStateBytes(maxHiddenStateBytes)
        .vocabBudget(vocabBudgetMb == null ? null : VocabBudget.ofMegabytes(vocabBudgetMb, "--vocab-budget-mb"))
        .shutdownGrace(Duration.ofSeconds(shutdownGraceSeconds)).security(tls.security("graft teacher"))
        .maxConnectionAge(Duration.ofSeconds(maxConnectionAgeSeconds)).build().start();
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "teacher-shutdown"));
    System.out.println("teacher-service serving " + dir + " on port " + server.port()
        + (server.metricsPort() >= 0 ? ", metrics on http://0.0.0.0:" + server.metricsPort() + "/metrics" : ""));
    server.blockUntilShutdown();
    return 0;
  }
}
