package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.TokenBatch;
import dev.graft.kube.discovery.EndpointSliceResolverProvider;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.service.HostPort;
import dev.graft.service.TransportSecurity;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherLimits;
import dev.graft.teacher.TeacherUnavailableException;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.teacher.server.TeacherServer;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.grpc.NameResolverRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * Replicas found through {@code k8s:///} and balanced while a real scoring load runs: three
 * teacher-services on loopback (one EndpointSlice each, since a slice has one port list) behind
 * fabric8's mock API server in CRUD mode, plus one serving another model. The teachers close
 * connections every 2 s (maximum connection age), as in a cluster. A replica added gets work (its
 * served-request counter grows; the time it took is printed), the other model's replica is refused
 * and gets none, a replica made unready or deleted gets no new work, one that dies while still
 * listed only costs retries, and no scoring call fails.
 */
@EnableKubernetesMockClient(crud = true)
class KubeDiscoveryTest {

  static KubernetesClient client;

  private static final String NS = "graft";
  private static final Duration DEADLINE = Duration.ofSeconds(60);

  @Test
  void replicasAddedUnreadiedAndDeleted_underScoringLoad_getWorkAsTheyShould_andNoCallFails() throws Exception {
    Path dir = TinyBase.teacher();
    LlamaConfig config = LlamaConfig.read(dir.resolve(HfCheckpoint.CONFIG_FILE));
    NameResolverRegistry registry = NameResolverRegistry.getDefaultRegistry();
    EndpointSliceResolverProvider global = EndpointSliceResolverProvider.register();
    EndpointSliceResolverProvider provider = new EndpointSliceResolverProvider(client, Duration.ofMillis(100));
    registry.deregister(global);
    registry.register(provider);
    List<AutoCloseable> open = new ArrayList<>();
    ExecutorService load = Executors.newFixedThreadPool(2);
    AtomicBoolean running = new AtomicBoolean(true);
    try (NDManager m = NDManager.newBaseManager()) {
      TeacherServer a = teacher(dir, open);
      TeacherServer b = teacher(dir, open);
      TeacherServer c = teacher(dir, open);
      LocalTeacher other = new LocalTeacher(LlamaModel.random(config, m, 99), TeacherLimits.of(config.maxPositionEmbeddings()));
      open.add(0, other);
      TeacherServer wrong = TeacherServer.builder().teacher(other).port(0).shutdownGrace(Duration.ofSeconds(1)).build().start();
      open.add(0, wrong);

      String target = "k8s:///teacher." + NS + ":50051";
      TeacherReplicaCheck check = TeacherReplicaCheck.install(provider, List.of(HostPort.parse(target)), Duration.ofSeconds(10),
          TransportSecurity.plaintext());
      put(slice("teacher-a", a.port(), true));
      put(slice("teacher-b", b.port(), true));
      TeacherClient teachers = TeacherClient.builder().endpoints(List.of(target)).deadline(Duration.ofSeconds(30)).build();
      open.add(0, teachers);
      assertEquals(List.of(target), teachers.endpoints());

      // Start-up, before the changes: the first replicas are checked before the client may use them.
      await("a first replica is admitted", () -> answers(teachers));
      AtomicLong calls = new AtomicLong();
      ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
      TokenBatch tokens = TokenBatch.of(new int[][] {{1, 5, 9, 14, 20, 33, 41, 7}, {2, 8, 13, 21, 34, 55, 89, 3}});
      for (int i = 0; i < 2; i++) {
        load.submit(() -> {
          while (running.get()) {
            try {
              teachers.score(tokens, new ScoreRequest.TopK(8, 1f));
              calls.incrementAndGet();
            } catch (RuntimeException e) {
              failures.add(e);
            }
          }
        });
      }
      await("both first replicas serve", () -> served(a) > 0 && served(b) > 0);

      long added = System.nanoTime();
      put(slice("teacher-c", c.port(), true));
      await("the new replica serves", () -> served(c) > 0);
      double seconds = (System.nanoTime() - added) / 1e9;
      System.out.printf("k8s discovery: a new replica got its first call %.2f s after its EndpointSlice was added%n",
          seconds);

      put(slice("teacher-other-model", wrong.port(), true));
      await("the other model's replica is refused", () -> !check.refusals().isEmpty());
      assertTrue(check.refusals().get(0).contains("model fingerprint"), check.refusals().toString());

      put(slice("teacher-a", a.port(), false)); // unready: no new work
      assertGetsNoNewWork(a, b, c);
      client.discovery().v1().endpointSlices().inNamespace(NS).withName("teacher-b").delete(); // gone
      assertGetsNoNewWork(b, c, c);
      a.close(); // an unready replica may go away: it has no work left

      put(slice("teacher-b", b.port(), true)); // back, and c dies while still listed: retried on b
      long bBack = served(b);
      await("the returning replica serves again", () -> served(b) > bBack);
      long bBefore = served(b);
      c.close();
      await("work goes on on the remaining replica", () -> served(b) >= bBefore + 20);

      running.set(false);
      load.shutdown();
      assertTrue(load.awaitTermination(60, TimeUnit.SECONDS));
      assertEquals(List.of(), List.copyOf(failures), "no scoring call failed");
      assertEquals(0, served(wrong), "the other model's replica got no work");
      assertTrue(calls.get() > 50, "calls: " + calls.get());
    } finally {
      running.set(false);
      load.shutdownNow();
      for (AutoCloseable o : open) {
        o.close();
      }
      registry.deregister(provider);
      registry.register(global);
      provider.close();
    }
  }

  /**
   * {@code idle} just left the ready set: once a stretch of 10 calls went elsewhere with none on it
   * (the change has reached the channel), it gets none of the next 20 either.
   */
  private static void assertGetsNoNewWork(TeacherServer idle, TeacherServer x, TeacherServer y) throws Exception {
    long[] window = {served(idle), served(x) + served(y)};
    await("a stretch of 10 calls without the replica that left", () -> {
      if (served(idle) != window[0]) {
        window[0] = served(idle);
        window[1] = served(x) + served(y);
      }
      return served(x) + served(y) >= window[1] + 10;
    });
    long settled = served(idle);
    long others = served(x) + served(y);
    await("the others keep serving", () -> served(x) + served(y) >= others + 20);
    assertEquals(settled, served(idle), "a replica that left the ready set got new work");
  }

  private static boolean answers(TeacherClient teachers) {
    try {
      teachers.info();
      return true;
    } catch (TeacherUnavailableException e) {
      return false;
    }
  }

  private static long served(TeacherServer t) {
    return (long) t.metrics().requests("ok");
  }

  private static TeacherServer teacher(Path dir, List<AutoCloseable> open) throws Exception {
    TeacherServer t = TeacherServer.builder().checkpoint(dir).port(0).shutdownGrace(Duration.ofSeconds(1))
        .maxConnectionAge(Duration.ofSeconds(2)).build().start();
    open.add(0, t);
    return t;
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + DEADLINE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + DEADLINE + ": " + what);
      }
      TimeUnit.MILLISECONDS.sleep(10); // polling interval of a condition with a deadline
    }
  }

  private static void put(EndpointSlice slice) {
    client.discovery().v1().endpointSlices().inNamespace(NS).resource(slice).createOr(e -> e.update());
  }

  private static EndpointSlice slice(String name, int port, boolean ready) {
    return new EndpointSliceBuilder().withNewMetadata().withName(name).withNamespace(NS)
        .withLabels(Map.of("kubernetes.io/service-name", "teacher")).endMetadata()
        .withAddressType("IPv4")
        .addNewEndpoint().withAddresses("127.0.0.1").withNewConditions().withReady(ready).withServing(ready)
        .withTerminating(false).endConditions().withNewTargetRef().withKind("Pod").withName(name).endTargetRef()
        .endEndpoint()
        .addNewPort().withName("grpc").withPort(port).withProtocol("TCP").endPort().build();
  }
}
