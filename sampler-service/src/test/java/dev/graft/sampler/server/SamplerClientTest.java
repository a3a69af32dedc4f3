package dev.graft.sampler.server;

import static dev.graft.sampler.server.TestPolicies.prompts;
import static dev.graft.sampler.server.TestPolicies.sampling;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.proto.v1.GenerateRequest;
import dev.graft.proto.v1.RolloutChunk;
import dev.graft.proto.v1.SamplerServiceGrpc;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplerClient;
import dev.graft.sampler.SamplerInfo;
import dev.graft.sampler.SamplerProtos;
import dev.graft.sampler.SamplerUnavailableException;
import dev.graft.sampler.SamplingParams;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The gRPC RolloutSource: round robin, retries, deadlines and error mapping; and the local one. */
class SamplerClientTest {

  private final List<AutoCloseable> resources = new ArrayList<>();
  private final List<Duration> slept = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  /** A started server; with a policy at version 1 when {@code withPolicy}. */
  private SamplerServer server(boolean withPolicy, int maxQueued) throws Exception {
    SamplerServerOptions.Builder b = SamplerServer.builder().slots(2).maxQueuedSequences(maxQueued);
    if (withPolicy) {
      PolicyHolder holder = TestPolicies.holder(1, 7);
      resources.add(holder);
      b.policies(holder);
    }
    SamplerServer s = b.build().start();
    resources.add(s);
    return s;
  }

  private SamplerClient client(Duration deadline, SamplerServer... servers) {
    List<String> endpoints = new ArrayList<>();
    for (SamplerServer s : servers) {
      endpoints.add("localhost:" + s.port());
    }
    SamplerClient c = SamplerClient.builder().endpoints(endpoints).maxAttempts(3)
        .deadline(deadline).sleeper(slept::add).build();
    resources.add(c);
    return c;
  }

  @Test
  void generate_goesRoundRobin_andMatchesTheEngine_withSeedPlusIndexPerPrompt() throws Exception {
    SamplerServer a = server(true, 8);
    SamplerServer b = server(true, 8);
    SamplerClient client = client(Duration.ofSeconds(60), a, b);
    List<int[]> p = prompts(1, 4, 7);
    SamplingParams params = sampling(1f, 1f, 0, 6, 10);
    List<Rollout> got = client.generate(p, params);
    for (int i = 0; i < 3; i++) {
      client.generate(p, params);
    }
    assertEquals(2, a.metrics().requests("ok"));
    assertEquals(2, b.metrics().requests("ok"));
    Rollout second = a.engine().generate(List.of(p.get(1)), params.withSeed(11)).get(0);
    GenerationEngineTest.assertSameRollout(second, got.get(1), "prompt 1");
    assertArrayEquals(p.get(1), got.get(1).prompt());
    assertEquals(new SamplerInfo(64, 128, 1), client.info());
  }

  @Test
  void unavailableReplica_isRetriedOnTheNext_afterABackoff() throws Exception {
    SamplerServer noPolicy = server(false, 8);
    SamplerServer ready = server(true, 8);
    SamplerClient client = client(Duration.ofSeconds(60), noPolicy, ready);
    assertEquals(1, client.generate(prompts(1, 3), sampling(1f, 1f, 0, 2, 0)).size());
    assertEquals(List.of(Duration.ofMillis(50)), slept);
    assertEquals(1, noPolicy.metrics().requests("unavailable"));
  }

  @Test
  void fullReplica_isRetriedOnTheNext() throws Exception {
    CountDownLatch queued = new CountDownLatch(1);
    SamplerServer full = server(true, 1);
    full.engine().addListener(new GenerationEngine.Listener() {
      @Override
      public void onQueued(int depth) {
        queued.countDown();
      }
    });
    full.engine().pause();
    SamplerClient direct = client(Duration.ofSeconds(60), full);
    CompletableFuture<List<Rollout>> waiting = CompletableFuture.supplyAsync(
        () -> direct.generate(prompts(2, 3), sampling(1f, 1f, 0, 2, 0)));
    assertTrue(queued.await(30, TimeUnit.SECONDS));
    SamplerServer ready = server(true, 8);
    SamplerClient client = client(Duration.ofSeconds(60), full, ready);
    assertEquals(1, client.generate(prompts(1, 3), sampling(1f, 1f, 0, 2, 0)).size());
    assertEquals(1, full.metrics().requests("resource_exhausted"));
    full.engine().resume();
    assertEquals(1, waiting.get(30, TimeUnit.SECONDS).size());
  }

  @Test
  void replicaDyingMidStream_isRetriedWholeOnAnother_withTheUninterruptedRollouts() throws Exception {
    DyingSampler dying = new DyingSampler();
    Server dead = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(dying)
        .build().start();
    resources.add(dead::shutdownNow);
    SamplerServer ready = server(true, 8);
    SamplerClient client = SamplerClient.builder().endpoints(List.of("localhost:" + dead.getPort(),
        "localhost:" + ready.port())).maxAttempts(3).sleeper(slept::add).build();
    resources.add(client);
    List<int[]> p = prompts(3, 4, 5, 6);
    SamplingParams params = sampling(1f, 1f, 0, 5, 21);

    List<Rollout> got = client.generate(p, params);

    assertEquals(1, dying.calls.get(), "the dying replica was tried first");
    assertEquals(List.of(Duration.ofMillis(50)), slept);
    List<Rollout> uninterrupted = ready.engine().generate(p, params);
    assertEquals(3, got.size());
    for (int i = 0; i < 3; i++) {
      GenerationEngineTest.assertSameRollout(uninterrupted.get(i), got.get(i), "prompt " + i);
    }
  }

  @Test
  void noReplicaAvailable_isSamplerUnavailable_afterBoundedAttempts() throws Exception {
    SamplerClient client = client(Duration.ofSeconds(60), server(false, 8));
    var e = assertThrows(SamplerUnavailableException.class,
        () -> client.generate(prompts(1, 3), sampling(1f, 1f, 0, 2, 0)));
    assertTrue(e.getMessage().contains("after 3 attempts"), e.getMessage());
    assertEquals(List.of(Duration.ofMillis(50), Duration.ofMillis(100)), slept);
  }

  @Test
  void invalidArgument_isIllegalArgument_withTheServersMessage() throws Exception {
    SamplerClient client = client(Duration.ofSeconds(60), server(true, 8));
    var e = assertThrows(IllegalArgumentException.class,
        () -> client.generate(List.of(new int[] {1, 64}), sampling(1f, 1f, 0, 2, 0)));
    assertTrue(e.getMessage().contains("outside the vocabulary [0, 64)"), e.getMessage());
    assertTrue(slept.isEmpty());
  }

  @Test
  void deadlineExceeded_isSamplerUnavailable_withoutRetry() throws Exception {
    SamplerServer stuck = server(true, 8);
    stuck.engine().pause();
    SamplerClient client = client(Duration.ofMillis(300), stuck);
    var e = assertThrows(SamplerUnavailableException.class,
        () -> client.generate(prompts(1, 3), sampling(1f, 1f, 0, 2, 0)));
    assertTrue(e.getMessage().contains("DEADLINE_EXCEEDED"), e.getMessage());
    assertTrue(slept.isEmpty());
    stuck.engine().resume();
  }

  @Test
  void localSampler_servesTheSameRollouts_andMapsItsErrors() {
    try (LocalSampler local = LocalSampler.create(new GenerationEngine.Options(2, 8, 32))) {
      var none = assertThrows(SamplerUnavailableException.class,
          () -> local.generate(prompts(1, 3), sampling(1f, 1f, 0, 2, 0)));
      assertTrue(none.getMessage().contains("no policy"), none.getMessage());
      assertEquals(new SamplerInfo(0, 0, -1), local.info());
      local.policies().install(TestPolicies.update(4, 7));
      assertEquals(new SamplerInfo(64, 128, 4), local.info());
      List<int[]> p = prompts(1, 5, 2);
      SamplingParams params = sampling(0.8f, 1f, 0, 7, 3);
      List<Rollout> got = local.generate(p, params);
      try (PolicyHolder.Policy policy = local.policies().acquire()) {
        List<Rollout> ref = ReferenceGenerator.generate(policy.model(), 4, p, params);
        for (int i = 0; i < 2; i++) {
          GenerationEngineTest.assertSameRollout(ref.get(i), got.get(i), "prompt " + i);
        }
      }
      assertThrows(IllegalArgumentException.class,
          () -> local.generate(List.of(new int[0]), sampling(1f, 1f, 0, 2, 0)));
    }
  }

  /** A replica that sends the first rollout of every call, then dies (UNAVAILABLE). */
  private static final class DyingSampler extends SamplerServiceGrpc.SamplerServiceImplBase {
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public void generate(GenerateRequest request, StreamObserver<RolloutChunk> response) {
      calls.incrementAndGet();
      int[] prompt = SamplerProtos.decode(request).prompts().get(0);
      Rollout partial = new Rollout(prompt, new int[] {1, 2, 3}, new float[] {-1f, -2f, -3f}, 1,
          Rollout.Finish.MAX_NEW_TOKENS);
      response.onNext(RolloutChunk.newBuilder().addRollouts(SamplerProtos.encode(0, partial)).build());
      response.onError(Status.UNAVAILABLE.withDescription("the replica died").asRuntimeException());
    }
  }
}
