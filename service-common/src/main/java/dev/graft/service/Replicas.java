package dev.graft.service;

import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import java.util.List;

/**
 * The channels a client calls, with a display name each: created from endpoints (and then owned
 * and shut down by {@link #close()}) or borrowed from the caller (for example in-process ones).
 */
public final class Replicas implements AutoCloseable {

  private final List<ManagedChannel> channels;
  private final List<String> names;
  private final boolean owned;
  private final TransportSecurity.Opened<?> credentials; // of owned channels; null otherwise

  private Replicas(List<ManagedChannel> channels, List<String> names, boolean owned,
      TransportSecurity.Opened<?> credentials) {
    if (channels.isEmpty()) {
      throw new IllegalArgumentException("at least one replica is needed");
    }
    this.channels = List.copyOf(channels);
    this.names = List.copyOf(names);
    this.owned = owned;
    this.credentials = credentials;
  }

  /**
   * Opens a plaintext channel to each endpoint; {@link #close()} shuts them down. A resolved
   * endpoint ({@code dns:///}, {@code k8s:///}) gets one channel that balances round-robin over
   * the replicas its resolver currently reports.
   */
  public static Replicas open(List<HostPort> endpoints, int maxInboundMessageBytes) {
    return open(endpoints, maxInboundMessageBytes, TransportSecurity.plaintext(), List.of());
  }

  /** Opens a channel secured as {@code security} says to each endpoint; {@link #close()} shuts them down. */
  public static Replicas open(List<HostPort> endpoints, int maxInboundMessageBytes, TransportSecurity security) {
    return open(endpoints, maxInboundMessageBytes, security, List.of());
  }

  /**
   * Opens a channel secured as {@code security} says to each endpoint, with {@code interceptors}
   * (for example a role's {@link RoleMetrics#clientInterceptor()}); {@link #close()} shuts them down.
   */
  public static Replicas open(List<HostPort> endpoints, int maxInboundMessageBytes, TransportSecurity security,
      List<ClientInterceptor> interceptors) {
    TransportSecurity.Opened<ChannelCredentials> credentials = security.openClient();
    List<ManagedChannel> channels = endpoints.stream()
        .map(e -> Grpc.newChannelBuilder(e.toString(), credentials.credentials())
            .defaultLoadBalancingPolicy(e.resolved() ? "round_robin" : "pick_first")
            .maxInboundMessageSize(maxInboundMessageBytes).intercept(interceptors).build())
        .toList();
    return new Replicas(channels, endpoints.stream().map(HostPort::toString).toList(), true, credentials);
  }

  /** Uses the caller's channels, named by their authority; the caller closes them. */
  public static Replicas borrow(List<ManagedChannel> channels) {
    return new Replicas(channels, channels.stream().map(ManagedChannel::authority).toList(), false, null);
  }

  public List<ManagedChannel> channels() {
    return channels;
  }

  /** The {@code host:port} (or channel authority) of each replica, in call order. */
  public List<String> names() {
    return names;
  }

  /** Shuts down the channels this object opened, and their certificate checks; borrowed ones stay open. */
  @Override
  public void close() {
    if (owned) {
      channels.forEach(ManagedChannel::shutdownNow);
      credentials.close();
    }
  }
}
