package dev.graft.kube.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The resolver against fabric8's mock API server in CRUD mode: slices added, made unready, deleted. */
@EnableKubernetesMockClient(crud = true)
class EndpointSliceNameResolverTest {

  static KubernetesClient client;

  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final LinkedBlockingQueue<Object> results = new LinkedBlockingQueue<>(); // List<String> or Status
  private NameResolver resolver;

  @AfterEach
  void tearDown() {
    if (resolver != null) {
      resolver.shutdown();
    }
    timer.shutdownNow();
  }

  @Test
  void readyReplicasArePublished_unreadyTerminatingAndDeletedOnesDropped() throws Exception {
    start("k8s:///teacher.graft:50051", ReplicaCheck.NONE);
    assertTrue(next() instanceof Status, "no slice yet: UNAVAILABLE");
    put(slice("teacher-a", "10.0.0.1", 50051, true, false));
    assertEquals(List.of("10.0.0.1:50051"), awaitAddresses(1));
    put(slice("teacher-b", "10.0.0.2", 50051, true, false));
    assertEquals(List.of("10.0.0.1:50051", "10.0.0.2:50051"), awaitAddresses(2));
    put(slice("teacher-a", "10.0.0.1", 50051, false, false));
    assertEquals(List.of("10.0.0.2:50051"), awaitAddresses(1));
    put(slice("teacher-a", "10.0.0.1", 50051, true, true)); // ready but terminating
    put(slice("other", "10.0.0.9", 50051, true, false, "sampler")); // another Service's slice
    put(slice("teacher-c", "10.0.0.3", 50051, true, false));
    assertEquals(List.of("10.0.0.2:50051", "10.0.0.3:50051"), awaitAddresses(2));
    client.discovery().v1().endpointSlices().inNamespace("graft").withName("teacher-b").delete();
    client.discovery().v1().endpointSlices().inNamespace("graft").withName("teacher-c").delete();
    Object last;
    do {
      last = next();
    } while (!(last instanceof Status));
    Status none = (Status) last;
    assertEquals(Status.Code.UNAVAILABLE, none.getCode());
    assertTrue(none.getDescription().contains("no ready replica of Service teacher in namespace graft"),
        none.getDescription());
  }

  @Test
  void aRefusedReplicaIsNeverPublished_anUncheckedOneIsAskedAgain() throws Exception {
    AtomicInteger asked = new AtomicInteger();
    Map<String, Integer> checks = new ConcurrentHashMap<>();
    start("k8s:///teacher.graft:50051", a -> {
      String ip = a.getAddress().getHostAddress();
      int n = checks.merge(ip, 1, Integer::sum);
      asked.incrementAndGet();
      if (ip.equals("10.0.0.6")) {
        return ReplicaCheck.Verdict.refuse("serves another model");
      }
      return ip.equals("10.0.0.7") && n < 3 ? ReplicaCheck.Verdict.retry("not answering yet") : ReplicaCheck.Verdict.admit();
    });
    put(slice("good", "10.0.0.5", 50051, true, false));
    put(slice("wrong-model", "10.0.0.6", 50051, true, false));
    put(slice("slow", "10.0.0.7", 50051, true, false));
    assertEquals(List.of("10.0.0.5:50051", "10.0.0.7:50051"), awaitAddresses(2));
    assertEquals(3, checks.get("10.0.0.7"), "retried until admitted");
    assertEquals(1, checks.get("10.0.0.6"), "a refusal stands while the replica stays ready");
  }

  @Test
  void anApiServerThatCannotBeReached_isUnavailableNamingTheService() throws Exception {
    try (KubernetesClient unreachable = new KubernetesClientBuilder().withConfig(new ConfigBuilder()
        .withMasterUrl("http://127.0.0.1:" + closedPort()).withRequestTimeout(2000).withConnectionTimeout(2000)
        .withRequestRetryBackoffLimit(0).build()).build()) {
      start(unreachable, "k8s:///teacher.graft:50051", ReplicaCheck.NONE);
      Status s = (Status) next();
      assertEquals(Status.Code.UNAVAILABLE, s.getCode());
      assertTrue(s.getDescription().startsWith("cannot watch the EndpointSlices of Service teacher in namespace graft"),
          s.getDescription());
    }
  }

  private static int closedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void targetsAreValidated() {
    assertEquals(new KubeTarget("teacher", "graft", 50051), KubeTarget.parse(URI.create("k8s:///teacher.graft:50051")));
    assertEquals(new KubeTarget("teacher", null, 50051), KubeTarget.parse(URI.create("k8s:///teacher:50051")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> KubeTarget.parse(URI.create("k8s://graft/teacher:50051")));
    assertTrue(e.getMessage().contains("three slashes"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> KubeTarget.parse(URI.create("k8s:///Teacher.graft:50051")));
    assertTrue(e.getMessage().contains("Service name 'Teacher' must be a DNS-1035 label"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> KubeTarget.parse(URI.create("k8s:///teacher.graft:0")));
    assertTrue(e.getMessage().contains("port (0) must be in 1..65535"), e.getMessage());
  }

  @Test
  void slicePort_isTheTargetsNumber_elseTheGrpcNamedOne_elseTheOnlyOne() {
    EndpointSlice two = new EndpointSliceBuilder(slice("x", "10.0.0.1", 1, true, false)).withPorts()
        .addNewPort().withName("metrics").withPort(9464).endPort()
        .addNewPort().withName("grpc").withPort(7000).endPort().build();
    assertEquals(7000, ReadyEndpoints.of(List.of(two), 50051).get(0).address().getPort());
    assertEquals(9464, ReadyEndpoints.of(List.of(two), 9464).get(0).address().getPort());
    EndpointSlice fqdn = new EndpointSliceBuilder(slice("y", "10.0.0.1", 1, true, false)).withAddressType("FQDN").build();
    assertEquals(List.of(), ReadyEndpoints.of(List.of(fqdn), 1));
  }

  private void start(String target, ReplicaCheck check) {
    start(client, target, check);
  }

  private void start(KubernetesClient api, String target, ReplicaCheck check) {
    EndpointSliceResolverProvider provider = new EndpointSliceResolverProvider(api, Duration.ofMillis(50));
    provider.check(target, check);
    SynchronizationContext sync = new SynchronizationContext((t, e) -> results.add(Status.INTERNAL.withCause(e)));
    NameResolver.Args args = NameResolver.Args.newBuilder().setDefaultPort(443).setProxyDetector(a -> null)
        .setSynchronizationContext(sync).setScheduledExecutorService(timer)
        .setServiceConfigParser(new NameResolver.ServiceConfigParser() {
          @Override
          public NameResolver.ConfigOrError parseServiceConfig(Map<String, ?> config) {
            return NameResolver.ConfigOrError.fromConfig(config);
          }
        }).build();
    resolver = provider.newNameResolver(URI.create(target), args);
    assertEquals("teacher.graft.svc", resolver.getServiceAuthority());
    resolver.start(new NameResolver.Listener2() {
      @Override
      public void onResult(NameResolver.ResolutionResult r) {
        onResult2(r);
      }

      @Override
      public Status onResult2(NameResolver.ResolutionResult r) {
        if (r.getAddressesOrError().hasValue()) {
          results.add(r.getAddressesOrError().getValue().stream().map(EndpointSliceNameResolverTest::address).toList());
        } else {
          results.add(r.getAddressesOrError().getStatus());
        }
        return Status.OK;
      }

      @Override
      public void onError(Status error) {
        results.add(error);
      }
    });
  }

  private static String address(EquivalentAddressGroup g) {
    InetSocketAddress a = (InetSocketAddress) g.getAddresses().get(0);
    return a.getAddress().getHostAddress() + ":" + a.getPort();
  }

  private Object next() throws InterruptedException {
    Object r = results.poll(20, TimeUnit.SECONDS);
    if (r == null) {
      throw new AssertionError("no resolution within 20 s");
    }
    return r;
  }

  /** The next published address list of {@code size} entries (earlier intermediate ones skipped). */
  @SuppressWarnings("unchecked")
  private List<String> awaitAddresses(int size) throws InterruptedException {
    while (true) {
      Object r = next();
      if (r instanceof List<?> l && l.size() == size) {
        return (List<String>) l;
      }
    }
  }

  private static void put(EndpointSlice slice) {
    client.discovery().v1().endpointSlices().inNamespace("graft").resource(slice).createOr(e -> e.update());
  }

  static EndpointSlice slice(String name, String ip, int port, boolean ready, boolean terminating) {
    return slice(name, ip, port, ready, terminating, "teacher");
  }

  static EndpointSlice slice(String name, String ip, int port, boolean ready, boolean terminating, String service) {
    return new EndpointSliceBuilder().withNewMetadata().withName(name).withNamespace("graft")
        .withLabels(Map.of(EndpointSliceNameResolver.SERVICE_LABEL, service)).endMetadata()
        .withAddressType("IPv4")
        .addNewEndpoint().withAddresses(ip).withNewConditions().withReady(ready).withServing(ready)
        .withTerminating(terminating).endConditions().withNewTargetRef().withKind("Pod").withName(name)
        .endTargetRef().endEndpoint()
        .addNewPort().withName("grpc").withPort(port).withProtocol("TCP").endPort().build();
  }

}
