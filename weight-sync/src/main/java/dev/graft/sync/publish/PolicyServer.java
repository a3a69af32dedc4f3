package dev.graft.sync.publish;

import dev.graft.proto.v1.PolicyServiceGrpc;
import dev.graft.service.ServiceHost;
import dev.graft.service.TransportSecurity;
import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * A standalone server for {@code graft.v1.PolicyService}, with gRPC health ({@code SERVING} once
 * started, {@code NOT_SERVING} from close on) and reflection; for benchmarks and tests. The
 * trainer hosts {@link PolicyGrpcService} on its own server instead.
 *
 * <p>{@link #close()} ends the watch streams, lets weight downloads finish for up to the grace
 * period, then cancels what is left.
 */
public final class PolicyServer implements AutoCloseable {

  private final ServiceHost host;
  private final PolicyGrpcService service;

  private PolicyServer(ServiceHost host, PolicyGrpcService service) {
    this.host = host;
    this.service = service;
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
    return start(publisher, port, chunkBytes, grace, TransportSecurity.plaintext());
  }

  /**
   * As {@link #start(WeightPublisher, int, int, Duration)}, secured as {@code security} says (with
   * an allow-list, weights go only to those client identities).
   */
  public static PolicyServer start(WeightPublisher publisher, int port, int chunkBytes,
      Duration grace, TransportSecurity security) throws IOException {
    PolicyGrpcService service = new PolicyGrpcService(publisher, chunkBytes);
    ServiceHost host = ServiceHost.start(new ServiceHost.Options("policy", port, -1, grace, security),
        executor -> List.of(service), List.of(PolicyServiceGrpc.SERVICE_NAME), true, null);
    return new PolicyServer(host, service);
  }

  /** Serves {@code publisher} on {@code port} with 1 MiB chunks and a 10 s shutdown grace. */
  public static PolicyServer start(WeightPublisher publisher, int port) throws IOException {
    return start(publisher, port, PolicyGrpcService.DEFAULT_CHUNK_BYTES, Duration.ofSeconds(10));
  }

  /** The bound port (the actual one when 0 was asked for). */
  public int port() {
    return host.port();
  }

  /** Reports NOT_SERVING, ends watches, drains downloads up to the grace, then stops. Idempotent. */
  @Override
  public void close() {
    host.shutdown();
    service.endWatches();
    host.close();
  }
}
