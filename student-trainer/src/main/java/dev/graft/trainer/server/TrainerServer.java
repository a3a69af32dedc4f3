package dev.graft.trainer.server;

import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The student-trainer's gRPC server: the status service, health ({@code grpc.health.v1}) and
 * server reflection. Started before a run prepares, so probes and operators see it from the start.
 */
public final class TrainerServer implements AutoCloseable {

  /** Name under which the health service reports this server. */
  public static final String SERVICE = "graft.v1.TrainerService";

  private final Server server;
  private final HealthStatusManager health;

  private TrainerServer(Server server, HealthStatusManager health) {
    this.server = server;
    this.health = health;
  }

  /**
   * Starts serving {@code status} on {@code port} (0 = any free port).
   *
   * @throws IOException when the port cannot be bound
   */
  public static TrainerServer start(int port, RunStatus status) throws IOException {
    return start(port, status, java.util.List.of());
  }

  /**
   * Starts serving {@code status} and {@code extra} services (e.g. the policy weight service
   * samplers fetch from) on {@code port} (0 = any free port).
   *
   * @throws IOException when the port cannot be bound
   */
  public static TrainerServer start(int port, RunStatus status, java.util.List<io.grpc.BindableService> extra)
      throws IOException {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("trainer port (" + port + ") must be 0 (any free port) or a port");
    }
    HealthStatusManager health = new HealthStatusManager();
    ServerBuilder<?> b = ServerBuilder.forPort(port);
    extra.forEach(b::addService);
    Server s = b
        .addService(new TrainerGrpcService(status))
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build()
        .start();
    TrainerServer ts = new TrainerServer(s, health);
    health.setStatus(SERVICE, ServingStatus.SERVING);
    health.setStatus("", ServingStatus.SERVING);
    return ts;
  }

  /** The bound port. */
  public int port() {
    return server.getPort();
  }

  /** Reports NOT_SERVING, lets in-flight calls finish (up to 5 s), then stops. */
  @Override
  public void close() {
    health.enterTerminalState();
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
