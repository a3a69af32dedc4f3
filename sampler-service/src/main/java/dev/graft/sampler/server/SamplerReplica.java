package dev.graft.sampler.server;

import dev.graft.sync.subscribe.WeightSubscriber;
import dev.graft.sync.subscribe.WeightSubscriberOptions;
import java.io.IOException;

/**
 * A sampler replica as the {@code sampler} role runs it: a {@link SamplerServer} whose policy
 * holder follows a trainer's versions through weight sync ({@link WeightSubscriber}). It reports
 * SERVING once the first version is installed.
 */
public final class SamplerReplica implements AutoCloseable {

  private final SamplerServer server;
  private final WeightSubscriber subscriber;

  private SamplerReplica(SamplerServer server, WeightSubscriber subscriber) {
    this.server = server;
    this.subscriber = subscriber;
  }

  /**
   * Starts the server, then subscribes its policy holder to the trainer at {@code trainer}.
   *
   * @param server the server's settings; its policy holder must be the server's own
   * @param sync the subscriber's settings; its installer is set to the server's holder
   * @throws IOException if a port cannot be bound; nothing is left running then
   */
  public static SamplerReplica start(SamplerServerOptions.Builder server, WeightSubscriberOptions.Builder sync)
      throws IOException {
    SamplerServer s = server.build().start();
    try {
      WeightSubscriber sub = sync.installer(s.policies()).intercept(s.metrics().role().clientInterceptor()).build();
      s.metrics().watch(sub);
      sub.start();
      return new SamplerReplica(s, sub);
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
  }

  public SamplerServer server() {
    return server;
  }

  public WeightSubscriber subscriber() {
    return subscriber;
  }

  /** The bound gRPC port. */
  public int port() {
    return server.port();
  }

  /** The bound metrics port, or -1 when off. */
  public int metricsPort() {
    return server.metricsPort();
  }

  /** Blocks until the server terminates (for a main thread). */
  public void blockUntilShutdown() throws InterruptedException {
    server.blockUntilShutdown();
  }

  /** Stops following the trainer, then shuts the server down gracefully. Idempotent. */
  @Override
  public void close() {
    subscriber.close();
    server.close();
  }
}
