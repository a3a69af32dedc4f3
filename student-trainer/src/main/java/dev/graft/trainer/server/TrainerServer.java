package dev.graft.trainer.server;

import dev.graft.service.ServiceHost;
import dev.graft.service.TransportSecurity;
import dev.graft.sync.publish.PolicyGrpcService;
import dev.graft.sync.publish.WeightPublisher;
import io.grpc.BindableService;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The student-trainer's gRPC server: the status service and, for an on-policy run, the policy
 * service samplers fetch weights from ({@code graft.v1.PolicyService}), with health and server
 * reflection ({@link ServiceHost}). Started before a run prepares, so probes and operators see it
 * from the start.
 */
public final class TrainerServer implements AutoCloseable {

  /** Name under which the health service reports this server. */
  public static final String SERVICE = "graft.v1.TrainerService";

  private final ServiceHost host;
  private final PolicyGrpcService policy; // null without a publisher

  private TrainerServer(ServiceHost host, PolicyGrpcService policy) {
    this.host = host;
    this.policy = policy;
  }

  /** Serves {@code status} alone on {@code port} (0 = any free port). */
  public static TrainerServer start(int port, RunStatus status) throws IOException {
    return start(port, status, null);
  }

  /** As {@link #start(int, int, RunStatus, WeightPublisher, TrainerMetrics)} without metrics over HTTP. */
  public static TrainerServer start(int port, RunStatus status, WeightPublisher weights) throws IOException {
    return start(port, -1, status, weights, null);
  }

  /**
   * Serves {@code status} and, when {@code weights} is not null, the policy versions it publishes,
   * on {@code port} (0 = any free port), and {@code metrics} at {@code /metrics} on
   * {@code metricsPort} (-1: off); every call is counted and timed in {@code metrics} when given.
   *
   * @throws IllegalArgumentException for a port outside [0, 65535]
   * @throws IOException when a port cannot be bound
   */
  public static TrainerServer start(int port, int metricsPort, RunStatus status, WeightPublisher weights,
      TrainerMetrics metrics) throws IOException {
    return start(port, metricsPort, status, weights, metrics, TransportSecurity.plaintext());
  }

  /**
   * As {@link #start(int, int, RunStatus, WeightPublisher, TrainerMetrics)}, secured as
   * {@code security} says. Under TLS the status and policy services serve only the client
   * identities on its allow-list (weights and control go to authorised certificates alone), so TLS
   * without an allow-list is refused.
   *
   * @throws IllegalArgumentException for TLS without allowed clients
   */
  public static TrainerServer start(int port, int metricsPort, RunStatus status, WeightPublisher weights,
      TrainerMetrics metrics, TransportSecurity security) throws IOException {
    if (security.tls() && security.allowedClients().isEmpty()) {
      throw new IllegalArgumentException("the trainer serves policy weights and status only to authorised"
          + " client certificates: set --tls-allowed-clients (for example sampler,operator) with"
          + " --tls-client-auth require and --tls-ca");
    }
    if (metricsPort >= 0 && metrics == null) {
      throw new IllegalArgumentException("a metrics port needs metrics");
    }
    PolicyGrpcService policy = weights == null ? null : new PolicyGrpcService(weights);
    List<BindableService> services = new ArrayList<>(List.of(new TrainerGrpcService(status)));
    if (policy != null) {
      services.add(policy);
    }
    ServiceHost host = ServiceHost.start(
        new ServiceHost.Options("trainer", port, metricsPort, Duration.ofSeconds(5), security),
        executor -> services, List.of(SERVICE), true, metrics == null ? null : metrics.role());
    return new TrainerServer(host, policy);
  }

  /** The bound port. */
  public int port() {
    return host.port();
  }

  /** The bound metrics port, or -1 when metrics over HTTP are off. */
  public int metricsPort() {
    return host.metricsPort();
  }

  /** Reports NOT_SERVING, ends weight watches, lets in-flight calls finish (up to 5 s), then stops. */
  @Override
  public void close() {
    host.shutdown();
    if (policy != null) {
      policy.endWatches(); // open watch streams would otherwise hold the shutdown
    }
    host.close();
  }
}
