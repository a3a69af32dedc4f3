package dev.graft.service;

import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Collects what every replica client takes — the replicas, as endpoints or channels, and the
 * shared call settings — for a client's builder to extend with its own settings.
 *
 * @param <B> the concrete builder, returned by every setter
 */
public abstract class ReplicaClientBuilder<B extends ReplicaClientBuilder<B>> {

  /** Inbound message limit of channels the builder opens: gRPC's default. */
  public static final int DEFAULT_MAX_INBOUND_BYTES = 4 << 20;

  private final String role;
  private final List<HostPort> endpoints = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<ClientInterceptor> interceptors = new ArrayList<>();
  private Duration deadline;
  private int maxAttempts = 5;
  private Duration initialBackoff = Duration.ofMillis(50);
  private Duration maxBackoff = Duration.ofSeconds(2);
  private Backoff.Sleeper sleeper = Backoff.Sleeper.SYSTEM;
  private TransportSecurity security = TransportSecurity.plaintext();

  /**
   * @param role what the replicas are, for messages ("teacher", "sampler")
   * @param defaultDeadline the deadline of every call unless {@link #deadline} sets another
   */
  protected ReplicaClientBuilder(String role, Duration defaultDeadline) {
    this.role = role;
    this.deadline = defaultDeadline;
  }

  @SuppressWarnings("unchecked")
  private B self() {
    return (B) this;
  }

  /**
   * Replicas as {@code host:port}; the client opens and owns their channels.
   *
   * @throws IllegalArgumentException for an entry that is not host:port
   */
  public B endpoints(List<String> hostPorts) {
    hostPorts.forEach(e -> endpoints.add(HostPort.parse(e)));
    return self();
  }

  /** Replicas as existing channels (for example in-process); the caller closes them. */
  public B channels(List<ManagedChannel> existing) {
    channels.addAll(existing);
    return self();
  }

  /**
   * Adds {@code interceptor} to every channel the client opens from endpoints (for example a
   * role's {@link RoleMetrics#clientInterceptor()}); channels given to {@link #channels} are the
   * caller's and stay as they are.
   */
  public B intercept(ClientInterceptor interceptor) {
    if (interceptor == null) {
      throw new IllegalArgumentException("a client interceptor must not be null");
    }
    interceptors.add(interceptor);
    return self();
  }

  public B deadline(Duration d) {
    this.deadline = d;
    return self();
  }

  public B maxAttempts(int n) {
    this.maxAttempts = n;
    return self();
  }

  public B backoff(Duration initial, Duration max) {
    this.initialBackoff = initial;
    this.maxBackoff = max;
    return self();
  }

  public B sleeper(Backoff.Sleeper s) {
    this.sleeper = s;
    return self();
  }

  /** How channels opened to endpoints are secured (default: plaintext, for loopback). */
  public B security(TransportSecurity s) {
    this.security = java.util.Objects.requireNonNull(s, "security");
    return self();
  }

  /**
   * The validated shared settings.
   *
   * @throws IllegalArgumentException for an invalid setting
   */
  protected ReplicaClientOptions options() {
    return new ReplicaClientOptions(deadline, maxAttempts, new Backoff(initialBackoff, maxBackoff), sleeper);
  }

  /**
   * Opens the endpoints' channels, or borrows the given channels; call after {@link #options()}
   * so that an invalid setting opens nothing.
   *
   * @throws IllegalArgumentException unless exactly one of endpoints and channels was given
   */
  protected Replicas replicas(int maxInboundMessageBytes) {
    if (endpoints.isEmpty() == channels.isEmpty()) {
      throw new IllegalArgumentException("a " + role
          + " client needs endpoints or channels (exactly one of the two, non-empty)");
    }
    return channels.isEmpty() ? Replicas.open(endpoints, maxInboundMessageBytes, security, interceptors)
        : Replicas.borrow(channels);
  }

  /** {@link #replicas(int)} with gRPC's default inbound limit. */
  protected Replicas replicas() {
    return replicas(DEFAULT_MAX_INBOUND_BYTES);
  }
}
