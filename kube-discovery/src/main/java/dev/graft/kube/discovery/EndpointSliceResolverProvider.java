package dev.graft.kube.discovery;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The {@code k8s} scheme for gRPC channels: {@code k8s:///<service>.<namespace>:<port>} follows
 * the ready endpoints of a Service (see {@link EndpointSliceNameResolver}). Registered once per
 * process with {@link #register()}; the Kubernetes client (in-cluster service account, or
 * {@code ~/.kube/config}) is made when the first such channel is. A {@link ReplicaCheck} set
 * for a target with {@link #check} vets every replica before it gets work.
 */
public final class EndpointSliceResolverProvider extends NameResolverProvider implements AutoCloseable {

  /** How long a replica that could not be checked waits before it is checked again. */
  public static final Duration DEFAULT_RETRY_DELAY = Duration.ofSeconds(1);

  private static EndpointSliceResolverProvider registered;

  private final Supplier<KubernetesClient> clients;
  private final boolean ownsClient;
  private final Duration retryDelay;
  private final Map<KubeTarget, ReplicaCheck> checks = new ConcurrentHashMap<>();
  private final ExecutorService checkPool = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "k8s-replica-check");
    t.setDaemon(true);
    return t;
  });
  private KubernetesClient client;

  /**
   * @param client the Kubernetes client to watch with (borrowed: {@link #close()} leaves it open)
   * @param retryDelay how long a replica that could not be checked waits before the next check
   */
  public EndpointSliceResolverProvider(KubernetesClient client, Duration retryDelay) {
    this(() -> client, false, retryDelay);
  }

  private EndpointSliceResolverProvider(Supplier<KubernetesClient> clients, boolean ownsClient, Duration retryDelay) {
    if (retryDelay == null || retryDelay.isNegative() || retryDelay.isZero()) {
      throw new IllegalArgumentException("retry delay (" + retryDelay + ") must be > 0");
    }
    this.clients = clients;
    this.ownsClient = ownsClient;
    this.retryDelay = retryDelay;
  }

  /**
   * Registers the {@code k8s} scheme in gRPC's default registry, with a Kubernetes client made
   * from the environment on first use. Idempotent; returns the registered provider.
   */
  public static synchronized EndpointSliceResolverProvider register() {
    if (registered == null) {
      registered = new EndpointSliceResolverProvider(() -> new KubernetesClientBuilder().build(), true,
          DEFAULT_RETRY_DELAY);
      NameResolverRegistry.getDefaultRegistry().register(registered);
    }
    return registered;
  }

  /**
   * Vets every replica of {@code target} (a {@code k8s:///} endpoint) with {@code check} before it
   * gets work, in channels made from now on.
   *
   * @throws IllegalArgumentException when {@code target} is not a k8s:/// target
   */
  public void check(String target, ReplicaCheck check) {
    checks.put(KubeTarget.parse(URI.create(target)), check);
  }

  @Override
  public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    if (!KubeTarget.SCHEME.equals(targetUri.getScheme())) {
      return null;
    }
    KubeTarget target = KubeTarget.parse(targetUri);
    return new EndpointSliceNameResolver(target, client(), checks.getOrDefault(target, ReplicaCheck.NONE),
        retryDelay, args, checkPool);
  }

  private synchronized KubernetesClient client() {
    if (client == null) {
      client = clients.get();
    }
    return client;
  }

  @Override
  public String getDefaultScheme() {
    return KubeTarget.SCHEME;
  }

  @Override
  protected boolean isAvailable() {
    return true;
  }

  /** Below DNS's 5, so that a target without a scheme ({@code host:port}) still means DNS. */
  @Override
  protected int priority() {
    return 4;
  }

  @Override
  public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
    return List.of(InetSocketAddress.class);
  }

  /** Stops the check threads, and the Kubernetes client when this provider made it. */
  @Override
  public synchronized void close() {
    checkPool.shutdownNow();
    if (ownsClient && client != null) {
      client.close();
    }
  }
}
