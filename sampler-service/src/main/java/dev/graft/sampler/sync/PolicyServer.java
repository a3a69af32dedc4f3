package dev.graft.sampler.sync;

import dev.graft.proto.v1.PolicyServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A standalone server for {@code graft.v1.PolicyService}, with gRPC health ({@code SERVING} once
 * started, {@code NOT_SERVING} from close on) and reflection; for local runs, benchmarks and
 * tests. A trainer that has its own server adds the service there with
 * {@link PolicyGrpcService#addTo} instead.
 *
 * <p>{@link #close()} ends the watch streams, lets weight downloads finish for up to the grace
 * period, then cancels what is left.
 */
public final class PolicyServer implements AutoCloseable {

  private final Server server;
  private final PolicyGrpcService service;
  private final HealthStatusManager health;
  private final Duration grace;

  private PolicyServer(Server server, PolicyGrpcService service, HealthStatusManager health,
      Duration grace) {
    this.server = server;
    this.service = service;
    this.health = health;
    this.grace = grace;
  }

  /**
   * Binds {@code port} (0 picks a free one) and serves {@code publisher}.
   *
   * @param chunkBytes the byte budget of one weight chunk, in [1 KiB, 4 MiB]
   * @param grace how long {@link #close()} lets downloads finish
   * @throws IOException when the port cannot be bound
   */
  public static PolicyServer start(WeightPublisher publisher, int port, int chunkBytes,
      Duration grace) throws IOException {
    if (grace == null || grace.isNegative()) {
      throw new IllegalArgumentException("shutdown grace (" + grace + ") must be >= 0");
    }
    PolicyGrpcService service = new PolicyGrpcService(publisher, chunkBytes);
    HealthStatusManager health = new HealthStatusManager();
    Server server = Grpc.newServerBuilderForPort(port, InsecureServerCredentials.create())
        .addService(service)
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build()
        .start();
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(PolicyServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    return new PolicyServer(server, service, health, grace);
  }

  /** Serves {@code publisher} on {@code port} with 1 MiB chunks and a 10 s shutdown grace. */
  public static PolicyServer start(WeightPublisher publisher, int port) throws IOException {
    return start(publisher, port, PolicyGrpcService.DEFAULT_CHUNK_BYTES, Duration.ofSeconds(10));
  }

  /** The bound port (the actual one when 0 was asked for). */
  public int port() {
    return server.getPort();
  }

  /** Reports NOT_SERVING, ends watches, drains downloads up to the grace, then stops. Idempotent. */
  @Override
  public void close() {
    health.enterTerminalState();
    service.endWatches();
    server.shutdown();
    try {
      if (!server.awaitTermination(grace.toNanos(), TimeUnit.NANOSECONDS)) {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    }
  }
}
