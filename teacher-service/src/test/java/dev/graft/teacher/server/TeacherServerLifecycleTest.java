package dev.graft.teacher.server;

import static dev.graft.teacher.server.TestModels.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.data.TokenBatch;
import dev.graft.proto.v1.TeacherServiceGrpc;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherUnavailableException;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Start, health, reflection, metrics, batching across clients and graceful shutdown. */
class TeacherServerLifecycleTest {

  private final LocalTeacher teacher = TestModels.teacher(32, 256);
  private final List<AutoCloseable> resources = new ArrayList<>();
  private TeacherServer server;

  private ManagedChannel channel() {
    ManagedChannel c = Grpc.newChannelBuilder("localhost:" + server.port(),
        InsecureChannelCredentials.create()).build();
    resources.add(c::shutdownNow);
    return c;
  }

  private TeacherClient client() {
    TeacherClient c = TeacherClient.builder().endpoints(List.of("localhost:" + server.port()))
        .maxAttempts(1).build();
    resources.add(c);
    return c;
  }

  private void start(TeacherServerOptions.Builder b) throws Exception {
    server = b.teacher(teacher).build().start();
    resources.add(0, server);
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  @Test
  void score_twoConcurrentClients_shareOneForwardPass_andGetTheirAloneAnswers() throws Exception {
    TeacherServiceTest.QueueLatch bothQueued = new TeacherServiceTest.QueueLatch(2);
    start(TeacherServer.builder().listener(bothQueued));
    server.batcher().pause();
    TokenBatch a = tokens(2, 7, 1);
    TokenBatch b = tokens(3, 12, 2);
    TeacherClient ca = client();
    TeacherClient cb = client();
    var fa = CompletableFuture.supplyAsync(() -> ca.score(a, new ScoreRequest.TopK(5, 1f)));
    var fb = CompletableFuture.supplyAsync(() -> cb.score(b, new ScoreRequest.Full(1f)));
    bothQueued.await();
    server.batcher().resume();
    Scores.TopK ra = (Scores.TopK) fa.get();
    Scores.Full rb = (Scores.Full) fb.get();
    assertEquals(1, server.metrics().batchRequests().count(), "one forward pass");
    assertEquals(2.0, server.metrics().batchRequests().max(), "holding both requests");
    Scores.TopK aloneA = (Scores.TopK) teacher.score(a, new ScoreRequest.TopK(5, 1f));
    assertArrayEquals(aloneA.ids(), ra.ids());
    TestModels.assertClose(aloneA.logProbs(), ra.logProbs(), 1e-5);
    TestModels.assertClose(aloneA.logTail(), ra.logTail(), 1e-5);
    TestModels.assertClose(((Scores.Full) teacher.score(b, new ScoreRequest.Full(1f))).logProbs(),
        rb.logProbs(), 1e-5);
  }

  @Test
  void dnsTarget_isOneRoundRobinChannel_thatScoresLikeTheTeacher() throws Exception {
    start(TeacherServer.builder());
    String target = "dns:///localhost:" + server.port();
    TeacherClient c = TeacherClient.builder().endpoints(List.of(target)).maxAttempts(1).build();
    resources.add(c);
    assertEquals(List.of(target), c.endpoints());
    assertEquals(teacher.info().modelFingerprint(), c.info().modelFingerprint());
    TokenBatch ids = tokens(2, 7, 4);
    Scores.TopK got = (Scores.TopK) c.score(ids, new ScoreRequest.TopK(5, 1f));
    assertArrayEquals(((Scores.TopK) teacher.score(ids, new ScoreRequest.TopK(5, 1f))).ids(), got.ids());
  }

  @Test
  void shutdown_completesAnInFlightStream_andRefusesNewCalls() throws Exception {
    TeacherServiceTest.QueueLatch queued = new TeacherServiceTest.QueueLatch(1);
    start(TeacherServer.builder().listener(queued).chunkBytes(1024));
    server.batcher().pause();
    TokenBatch ids = tokens(2, 16, 3);
    TeacherClient inFlight = client();
    var result = CompletableFuture.supplyAsync(() -> inFlight.score(ids, new ScoreRequest.Full(1f)));
    queued.await();
    server.shutdown();
    TeacherUnavailableException refused = assertThrows(TeacherUnavailableException.class,
        () -> client().score(ids, new ScoreRequest.Full(1f)));
    assertTrue(refused.getMessage().contains("UNAVAILABLE"), refused.getMessage());
    server.batcher().resume();
    assertArrayEquals(((Scores.Full) teacher.score(ids, new ScoreRequest.Full(1f))).logProbs(),
        ((Scores.Full) result.get()).logProbs());
    assertTrue(server.awaitTermination(Duration.ofSeconds(30)));
  }

  @Test
  void health_reportsServing_thenNotServingOnShutdown() throws Exception {
    start(TeacherServer.builder());
    HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel());
    assertEquals(ServingStatus.SERVING, health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
    assertEquals(ServingStatus.SERVING, health.check(HealthCheckRequest.newBuilder()
        .setService(TeacherServiceGrpc.SERVICE_NAME).build()).getStatus());
    BlockingQueue<ServingStatus> seen = new LinkedBlockingQueue<>();
    WatchObserver watch = new WatchObserver(seen);
    HealthGrpc.newStub(channel()).watch(HealthCheckRequest.getDefaultInstance(), watch);
    assertEquals(ServingStatus.SERVING, seen.poll(30, TimeUnit.SECONDS));
    server.shutdown();
    assertEquals(ServingStatus.NOT_SERVING, seen.poll(30, TimeUnit.SECONDS));
    watch.cancel();
  }

  @Test
  void reflection_listsTheTeacherService() throws Exception {
    start(TeacherServer.builder());
    BlockingQueue<ServerReflectionResponse> answers = new LinkedBlockingQueue<>();
    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel())
        .serverReflectionInfo(new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse r) {
            answers.add(r);
          }

          @Override
          public void onError(Throwable t) { }

          @Override
          public void onCompleted() { }
        });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    ServerReflectionResponse r = answers.poll(30, TimeUnit.SECONDS);
    requests.onCompleted();
    List<String> names = r.getListServicesResponse().getServiceList().stream()
        .map(ServiceResponse::getName).toList();
    assertTrue(names.contains(TeacherServiceGrpc.SERVICE_NAME) && names.contains("grpc.health.v1.Health"),
        names.toString());
  }

  @Test
  void metrics_overHttp_exposeRequestTokenBatchAndLatencyMetrics() throws Exception {
    start(TeacherServer.builder().metricsPort(0));
    client().score(tokens(2, 5, 4), new ScoreRequest.TopK(3, 1f));
    assertThrows(IllegalArgumentException.class,
        () -> client().score(TokenBatch.of(new int[][] {{500}}), new ScoreRequest.Full(1f)));
    HttpResponse<String> response = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://localhost:" + server.metricsPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    String body = response.body();
    for (String line : List.of("graft_teacher_requests_total{outcome=\"ok\"} 1.0",
        "graft_teacher_requests_total{outcome=\"invalid_argument\"} 1.0",
        "graft_teacher_tokens_scored_total 10.0", "graft_teacher_batch_sequences_count 1",
        "graft_teacher_batch_tokens_sum 10.0", "graft_teacher_request_latency_seconds_bucket")) {
      assertTrue(body.contains(line), "missing '" + line + "' in:\n" + body);
    }
  }

  @Test
  void start_reportsTheActualEphemeralPort_andOptionsAreValidated() throws Exception {
    start(TeacherServer.builder());
    assertTrue(server.port() > 0);
    assertEquals(-1, server.metricsPort());
    assertThrows(IllegalArgumentException.class,
        () -> TeacherServer.builder().teacher(teacher).maxTokensPerRequest(10).build());
    assertThrows(IllegalArgumentException.class,
        () -> TeacherServer.builder().teacher(teacher).chunkBytes(100).build());
    assertThrows(IllegalArgumentException.class, () -> TeacherServer.builder().build());
  }

  @Test
  void server_fromCheckpointDir_servesIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    dev.graft.checkpoint.HfCheckpoint.save(dir, TestModels.CONFIG,
        TestModels.model().namedParameters(), dev.graft.checkpoint.Dtype.F32, Long.MAX_VALUE);
    try (TeacherServer s = TeacherServer.builder().checkpoint(dir).maxTokensPerRequest(64).build().start();
        TeacherClient c = TeacherClient.connect(List.of("localhost:" + s.port()))) {
      assertEquals(teacher.info().modelFingerprint(), c.info().modelFingerprint());
      assertEquals(64, c.info().maxTokensPerRequest());
      TokenBatch ids = tokens(1, 6, 8);
      assertArrayEquals(((Scores.Targets) teacher.score(ids, new ScoreRequest.Targets(ids, 1f))).logProbs(),
          ((Scores.Targets) c.score(ids, new ScoreRequest.Targets(ids, 1f))).logProbs());
    }
  }

  /** Collects health updates; can cancel the watch. */
  private static final class WatchObserver
      implements ClientResponseObserver<HealthCheckRequest, HealthCheckResponse> {
    private final BlockingQueue<ServingStatus> seen;
    private ClientCallStreamObserver<HealthCheckRequest> call;

    WatchObserver(BlockingQueue<ServingStatus> seen) {
      this.seen = seen;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<HealthCheckRequest> requestStream) {
      this.call = requestStream;
    }

    @Override
    public void onNext(HealthCheckResponse value) {
      seen.add(value.getStatus());
    }

    @Override
    public void onError(Throwable t) { }

    @Override
    public void onCompleted() { }

    void cancel() {
      call.cancel("test done", null);
    }
  }

}
