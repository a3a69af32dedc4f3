package dev.graft.service;

import io.grpc.BindableService;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * A service on a loopback Netty server, watched by a {@link CallProbe}, and a channel to it
 * whose HTTP/2 window is tiny: what flow-control and cancellation tests of every service need
 * to see whether a server stops writing while its client reads nothing.
 */
public final class SlowClientLink implements AutoCloseable {

  /** The client's per-stream HTTP/2 window: the most bytes in flight that it has not read. */
  public static final int CLIENT_WINDOW = 256;
  /** Bytes a server stream may queue before it reports the call not ready (gRPC's default: 32 KiB). */
  public static final int ON_READY_THRESHOLD = 1;
  /**
   * What a server that writes only while the call is ready writes, at most, to a client that reads
   * nothing, besides its last message: the window plus the threshold (and 1 KiB to spare).
   */
  public static final int MAY_BE_UNREAD = CLIENT_WINDOW + ON_READY_THRESHOLD + 1024;

  private final CallProbe probe = new CallProbe(ON_READY_THRESHOLD);
  private final Server server;
  private final ManagedChannel channel;

  /**
   * @param service what to serve
   * @param executor the server's executor, or null for gRPC's default
   */
  public SlowClientLink(BindableService service, Executor executor) throws IOException {
    ServerBuilder<?> b = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create());
    if (executor != null) {
      b.executor(executor);
    }
    server = b.addService(ServerInterceptors.intercept(service, probe)).build().start();
    channel = NettyChannelBuilder.forAddress("localhost", server.getPort()).usePlaintext()
        .flowControlWindow(CLIENT_WINDOW).build();
  }

  /** What the server wrote, and when calls stalled, closed or were cancelled. */
  public CallProbe probe() {
    return probe;
  }

  /** The slow client's channel. */
  public ManagedChannel channel() {
    return channel;
  }

  /** Stops the channel and the server (in-flight calls are cancelled). */
  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
  }
}
