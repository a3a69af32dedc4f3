package dev.graft.kube.discovery;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves a {@link KubeTarget} to the ready replicas of its Service: a fabric8 informer on the
 * {@code discovery.k8s.io/v1} EndpointSlices labelled {@code kubernetes.io/service-name=<service>}
 * recomputes the {@link ReadyEndpoints} on every add, update and delete, and each replica that
 * passes the {@link ReplicaCheck} is published to the channel's load balancer. A replica that
 * turns unready, terminates or disappears is dropped at the next event (its in-flight calls go
 * on; new calls go elsewhere); one that comes back is checked again. With no replica admitted
 * the channel gets UNAVAILABLE, naming the Service, so callers retry and wait.
 *
 * <p>All resolver state is touched only in the channel's {@link SynchronizationContext}.
 */
final class EndpointSliceNameResolver extends NameResolver {

  /** The label EndpointSlices carry naming their Service. */
  static final String SERVICE_LABEL = "kubernetes.io/service-name";
  /** Attribute of each published address: the pod it is (for logs and tests). */
  static final Attributes.Key<String> POD = Attributes.Key.create("graft.k8s.pod");

  private static final Logger LOG = LoggerFactory.getLogger(EndpointSliceNameResolver.class);

  private final KubeTarget target;
  private final String namespace;
  private final KubernetesClient client;
  private final ReplicaCheck check;
  private final Duration retryDelay;
  private final SynchronizationContext sync;
  private final Executor checks;
  private final ScheduledExecutorService timer;
  private final Map<String, EndpointSlice> slices = new ConcurrentHashMap<>(); // informer thread
  private SharedIndexInformer<EndpointSlice> informer;
  private Listener2 listener;
  // Below: only in the synchronization context.
  private Map<InetSocketAddress, ReadyEndpoints.Replica> ready = Map.of();
  private final Map<InetSocketAddress, ReplicaCheck.Verdict.Kind> verdicts = new HashMap<>();
  private final Set<InetSocketAddress> checking = new HashSet<>();
  private List<ReadyEndpoints.Replica> published;
  private String failure; // why the watch does not work, or null
  private boolean shutdown;

  EndpointSliceNameResolver(KubeTarget target, KubernetesClient client, ReplicaCheck check, Duration retryDelay,
      Args args, Executor checks) {
    this.target = target;
    this.client = client;
    this.namespace = target.namespace() != null ? target.namespace()
        : client.getNamespace() != null ? client.getNamespace() : "default";
    this.check = check;
    this.retryDelay = retryDelay;
    this.sync = args.getSynchronizationContext();
    this.timer = args.getScheduledExecutorService();
    this.checks = checks;
  }

  @Override
  public String getServiceAuthority() {
    return target.authority(namespace);
  }

  @Override
  public void start(Listener2 listener) {
    this.listener = listener;
    watch();
  }

  /** Starts an informer; a failure to list or watch is published, and {@link #refresh()} starts another. */
  private void watch() {
    slices.clear();
    SharedIndexInformer<EndpointSlice> started = client.discovery().v1().endpointSlices().inNamespace(namespace)
        .withLabel(SERVICE_LABEL, target.service()).runnableInformer(0);
    informer = started;
    started.addEventHandler(new ResourceEventHandler<>() {
      @Override
      public void onAdd(EndpointSlice slice) {
        slices.put(slice.getMetadata().getName(), slice);
        changed();
      }

      @Override
      public void onUpdate(EndpointSlice old, EndpointSlice slice) {
        slices.put(slice.getMetadata().getName(), slice);
        changed();
      }

      @Override
      public void onDelete(EndpointSlice slice, boolean finalStateUnknown) {
        slices.remove(slice.getMetadata().getName());
        changed();
      }
    });
    started.start().whenComplete((ok, error) -> {
      if (error != null) {
        sync.execute(() -> failed(started, "cannot watch the EndpointSlices of Service " + target.service()
            + " in namespace " + namespace + ": " + error.getMessage()));
      } else {
        changed(); // a Service with no slice yet: say so instead of waiting silently
      }
    });
    started.stopped().whenComplete((ok, error) -> {
      if (error != null) {
        sync.execute(() -> failed(started, "the EndpointSlice watch of Service " + target.service()
            + " in namespace " + namespace + " stopped: " + error.getMessage()));
      }
    });
  }

  /** On the informer's thread: the ready set as of now, applied in the synchronization context. */
  private void changed() {
    List<ReadyEndpoints.Replica> now = ReadyEndpoints.of(List.copyOf(slices.values()), target.port());
    sync.execute(() -> update(now));
  }

  private void update(List<ReadyEndpoints.Replica> now) {
    if (shutdown) {
      return;
    }
    failure = null;
    Map<InetSocketAddress, ReadyEndpoints.Replica> next = new LinkedHashMap<>();
    now.forEach(r -> next.put(r.address(), r));
    ready = next;
    verdicts.keySet().retainAll(ready.keySet()); // a replica that left is checked again if it returns
    ready.keySet().stream().filter(a -> !verdicts.containsKey(a) && !checking.contains(a)).toList()
        .forEach(this::startCheck);
    publish(false);
  }

  private void startCheck(InetSocketAddress address) {
    checking.add(address);
    checks.execute(() -> {
      ReplicaCheck.Verdict v;
      try {
        v = check.check(address, getServiceAuthority());
      } catch (RuntimeException e) {
        v = ReplicaCheck.Verdict.retry(e.toString());
      }
      ReplicaCheck.Verdict verdict = v;
      sync.execute(() -> checked(address, verdict));
    });
  }

  private void checked(InetSocketAddress address, ReplicaCheck.Verdict v) {
    checking.remove(address);
    ReadyEndpoints.Replica replica = ready.get(address);
    if (shutdown || replica == null) {
      return; // left while being checked
    }
    switch (v.kind()) {
      case ADMIT -> {
        verdicts.put(address, v.kind());
        LOG.info("{}: replica {} is ready and gets work", target, replica);
      }
      case REFUSE -> {
        verdicts.put(address, v.kind());
        LOG.warn("{}: replica {} refused, it gets no work: {}", target, replica, v.reason());
      }
      case RETRY -> {
        LOG.info("{}: replica {} not checked yet ({}); again in {} ms", target, replica, v.reason(),
            retryDelay.toMillis());
        sync.schedule(() -> {
          if (!shutdown && ready.containsKey(address) && !verdicts.containsKey(address)
              && !checking.contains(address)) {
            startCheck(address);
          }
        }, retryDelay.toMillis(), TimeUnit.MILLISECONDS, timer);
      }
    }
    publish(false);
  }

  private void publish(boolean always) {
    if (listener == null || shutdown) {
      return;
    }
    List<ReadyEndpoints.Replica> admitted = ready.values().stream()
        .filter(r -> verdicts.get(r.address()) == ReplicaCheck.Verdict.Kind.ADMIT).toList();
    if (!always && failure == null && admitted.equals(published)) {
      return;
    }
    published = admitted;
    if (failure != null) {
      listener.onResult2(ResolutionResult.newBuilder()
          .setAddressesOrError(StatusOr.fromStatus(Status.UNAVAILABLE.withDescription(failure))).build());
    } else if (admitted.isEmpty()) {
      long refused = verdicts.values().stream().filter(k -> k == ReplicaCheck.Verdict.Kind.REFUSE).count();
      listener.onResult2(ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromStatus(
          Status.UNAVAILABLE.withDescription("no ready replica of Service " + target.service() + " in namespace "
              + namespace + " (" + ready.size() + " ready endpoints, " + refused + " refused, "
              + checking.size() + " being checked)"))).build());
    } else {
      List<EquivalentAddressGroup> groups = admitted.stream().map(r -> new EquivalentAddressGroup(r.address(),
          Attributes.newBuilder().set(POD, r.pod()).build())).toList();
      listener.onResult2(ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromValue(groups)).build());
    }
  }

  private void failed(SharedIndexInformer<EndpointSlice> from, String why) {
    if (shutdown || from != informer) {
      return; // shut down, or an informer already replaced
    }
    LOG.warn("{}: {}", target, why);
    failure = why;
    publish(true);
  }

  /**
   * The channel asks again after a failure: a watch that stopped is started anew (the API server
   * or the permission may be back); otherwise what is known now is published.
   */
  @Override
  public void refresh() {
    if (shutdown) {
      return;
    }
    if (failure != null && informer != null && !informer.isRunning()) {
      informer.close();
      watch();
      return;
    }
    publish(true);
  }

  @Override
  public void shutdown() {
    shutdown = true;
    if (informer != null) {
      informer.close();
    }
  }
}
