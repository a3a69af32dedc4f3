package dev.graft.cli;

import dev.graft.proto.v1.GetStatusRequest;
import dev.graft.proto.v1.TrainerServiceGrpc;
import dev.graft.proto.v1.TrainerStatus;
import dev.graft.service.TransportSecurity;
import dev.graft.trainer.distill.Evaluation;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code graft status}: asks a running student-trainer where its run stands. */
@Command(name = "status", mixinStandardHelpOptions = true,
    header = "Show a running trainer's status.",
    description = "Show a running student-trainer's status (graft.v1.TrainerService/GetStatus).")
final class TrainerStatusCommand implements Callable<Integer> {

  private static final Pattern SERVER_NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

  @Parameters(paramLabel = "HOST:PORT", description = "The trainer's status address, as printed when it starts.")
  String endpoint;

  @Mixin
  TlsClientOptions tls = new TlsClientOptions();

  @Option(names = "--tls-server-name", paramLabel = "NAME",
      description = "Under TLS, the name the trainer's certificate must carry when HOST is not one of its names,"
          + " e.g. graft-trainer through `kubectl port-forward pod/graft-trainer-0 50053` (HOST:PORT"
          + " localhost:50053). Default: HOST.")
  String serverName;

  /**
   * The status as lines for a person; a mid-ramp evaluation is labelled as a blended student
   * with its mean α, since it is not the model that ships.
   */
  static String describe(TrainerStatus s) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
        "run %s: %s, step %d of %d, loss %.4f, alpha %.2f, %,.0f tok/s%n", s.getRunId(), s.getPhase(),
        s.getStep(), s.getTotalSteps(), s.getLoss(), s.getMeanAlpha(), s.getTokensPerSecond()));
    if (s.hasLastEval()) {
      var e = s.getLastEval();
      double a = e.getMeanAlpha();
      sb.append(String.format(Locale.ROOT, "held-out at step %d%s: KL %.4f, perplexity %.2f (teacher %.2f),"
              + " top-1 agreement %.3f, gap recovered %.1f%%%n", e.getStep(),
          Evaluation.blended(a) ? Evaluation.caveat(a) : " (alpha = 1)", e.getKl(), e.getStudentPerplexity(),
          e.getTeacherPerplexity(), e.getTop1Agreement(), 100 * e.getGapRecovered()));
    }
    if (!s.getWaitingFor().isEmpty()) {
      sb.append(String.format(Locale.ROOT, "waiting for %s for %.0f s: %s%n", s.getWaitingFor(),
          s.getWaitingSeconds(), s.getWaitingReason()));
    }
    if (!s.getError().isEmpty()) {
      sb.append("error: ").append(s.getError()).append('\n');
    }
    return sb.toString();
  }

  /** A status as one line: its code, description and the innermost cause (a TLS alert, say). */
  static String describe(Status status) {
    StringBuilder sb = new StringBuilder(status.getCode().name());
    if (status.getDescription() != null) {
      sb.append(": ").append(status.getDescription());
    }
    Throwable root = status.getCause();
    while (root != null && root.getCause() != null) {
      root = root.getCause();
    }
    if (root != null && root.getMessage() != null) {
      sb.append(" (").append(root.getMessage()).append(')');
    }
    return sb.toString();
  }

  @Override
  public Integer call() throws InterruptedException {
    dev.graft.service.HostPort.parse(endpoint);
    TransportSecurity security = tls.security("graft status");
    if (serverName != null && (!security.tls() || !SERVER_NAME.matcher(serverName).matches())) {
      throw new IllegalArgumentException("--tls-server-name '" + serverName + "' must be a DNS name (a-z, 0-9, '-',"
          + " '.') and goes with TLS, not --plaintext");
    }
    TransportSecurity.Opened<ChannelCredentials> credentials = security.openClient();
    ManagedChannelBuilder<?> builder = Grpc.newChannelBuilder(endpoint, credentials.credentials());
    if (serverName != null) {
      builder.overrideAuthority(serverName);
    }
    ManagedChannel ch = builder.build();
    try {
      TrainerStatus s = TrainerServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
          .getStatus(GetStatusRequest.getDefaultInstance());
      System.out.print(describe(s));
      return 0;
    } catch (StatusRuntimeException e) {
      System.err.println("graft: error: cannot reach the trainer at " + endpoint + ": " + describe(e.getStatus()));
      return 3;
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      credentials.close();
    }
  }
}
