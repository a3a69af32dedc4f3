package dev.graft.sampler.server;

import static dev.graft.sampler.server.TestPolicies.prompts;
import static dev.graft.sampler.server.TestPolicies.sampling;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.proto.v1.SamplerServiceGrpc;
import dev.graft.sampler.SamplerClient;
import dev.graft.sampler.SamplerProtos;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Health, reflection, metrics and graceful shutdown of a real server (flow control: SamplerFlowControlTest). */
class SamplerServerLifecycleTest {

  private final List<AutoCloseable> resources = new ArrayList<>();
  private SamplerServer server;

  private SamplerServer start(SamplerServerOptions.Builder b) throws Exception {
    server = b.build().start();
    resources.add(0, server);
    return server;
  }

  private ManagedChannel channel() {
    ManagedChannel c = Grpc.newChannelBuilder("localhost:" + server.port(),
        InsecureChannelCredentials.create()).build();
    resources.add(c::shutdownNow);
    return c;
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  private ServingStatus health(ManagedChannel c, String service) {
    return HealthGrpc.newBlockingStub(c).check(HealthCheckRequest.newBuilder().setService(service)
        .build()).getStatus();
  }

  @Test
  void health_isNotServingBeforeAPolicy_servingAfterInstall_andGenerateWaitsForIt() throws Exception {
    start(SamplerServer.builder());
    ManagedChannel c = channel();
    assertEquals(ServingStatus.NOT_SERVING, health(c, ""));
    assertEquals(ServingStatus.NOT_SERVING, health(c, SamplerServiceGrpc.SERVICE_NAME));
    BlockingQueue<ServingStatus> seen = new LinkedBlockingQueue<>();
    WatchObserver watch = new WatchObserver(seen);
    HealthGrpc.newStub(c).watch(HealthCheckRequest.getDefaultInstance(), watch);
    assertEquals(ServingStatus.NOT_SERVING, seen.poll(30, TimeUnit.SECONDS));
    var stub = SamplerServiceGrpc.newBlockingStub(c);
    var request = SamplerProtos.encode(prompts(1, 4), sampling(1f, 1f, 0, 3, 0));
    var e = assertThrows(StatusRuntimeException.class, () -> stub.generate(request).next());
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("no policy"), e.getStatus().getDescription());
    assertEquals(-1, stub.getInfo(dev.graft.proto.v1.GetSamplerInfoRequest.getDefaultInstance())
        .getPolicyVersion());

    server.policies().install(TestPolicies.update(0, 7));
    assertEquals(ServingStatus.SERVING, seen.poll(30, TimeUnit.SECONDS));
    watch.cancel();
    assertEquals(ServingStatus.SERVING, health(c, ""));
    assertEquals(ServingStatus.SERVING, health(c, SamplerServiceGrpc.SERVICE_NAME));
    assertEquals(0, stub.generate(request).next().getRollouts(0).getPolicyVersion());
  }

  @Test
  void reflection_listsTheSamplerService() throws Exception {
    start(SamplerServer.builder());
    List<String> services = new ArrayList<>();
    CountDownLatch done = new CountDownLatch(1);
    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel())
        .serverReflectionInfo(new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse r) {
            r.getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName)
                .forEach(services::add);
          }

          @Override
          public void onError(Throwable t) {
            done.countDown();
          }

          @Override
          public void onCompleted() {
            done.countDown();
          }
        });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    requests.onCompleted();
    assertTrue(done.await(30, TimeUnit.SECONDS));
    assertTrue(services.contains(SamplerServiceGrpc.SERVICE_NAME), services.toString());
  }

  @Test
  void metrics_reportTokensOccupancyQueueVersionAndLatency_overHttp() throws Exception {
    PolicyHolder holder = TestPolicies.holder(5, 7);
    resources.add(holder);
    start(SamplerServer.builder().policies(holder).metricsPort(0).slots(3));
    SamplerClient client = SamplerClient.connect(List.of("localhost:" + server.port()));
    resources.add(client);
    client.generate(prompts(1, 3, 4, 5), sampling(1f, 1f, 0, 6, 0));
    assertEquals(18, server.metrics().tokensGenerated());
    assertTrue(server.metrics().batchOccupancy().count() >= 5);
    assertEquals(3, server.metrics().batchOccupancy().max());
    String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://localhost:" + server.metricsPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    for (String metric : List.of("graft_sampler_tokens_generated_total 18.0",
        "graft_sampler_policy_version 5.0", "graft_sampler_queue_depth 0.0",
        "graft_sampler_batch_occupancy_count", "graft_sampler_request_latency_seconds_count",
        "graft_sampler_requests_total{outcome=\"ok\"} 1.0")) {
      assertTrue(body.contains(metric), metric + " in\n" + body);
    }
  }

  @Test
  void shutdown_refusesNewCalls_reportsNotServing_andFinishesInFlightStreams() throws Exception {
    PolicyHolder holder = TestPolicies.holder(1, 7);
    resources.add(holder);
    CountDownLatch queued = new CountDownLatch(1);
    start(SamplerServer.builder().policies(holder).shutdownGrace(Duration.ofSeconds(30))
        .listener(new GenerationEngine.Listener() {
          @Override
          public void onQueued(int depth) {
            queued.countDown();
          }
        }));
    ManagedChannel c = channel();
    server.engine().pause();
    var stub = SamplerServiceGrpc.newBlockingStub(c);
    var request = SamplerProtos.encode(prompts(1, 4, 6), sampling(1f, 1f, 0, 5, 0));
    CompletableFuture<Integer> inFlight = CompletableFuture.supplyAsync(() -> {
      int[] n = {0};
      stub.generate(request).forEachRemaining(ch -> n[0] += ch.getRolloutsCount());
      return n[0];
    });
    assertTrue(queued.await(30, TimeUnit.SECONDS));
    BlockingQueue<ServingStatus> seen = new LinkedBlockingQueue<>();
    WatchObserver watch = new WatchObserver(seen);
    HealthGrpc.newStub(c).watch(HealthCheckRequest.getDefaultInstance(), watch);
    assertEquals(ServingStatus.SERVING, seen.poll(30, TimeUnit.SECONDS));
    server.shutdown();
    assertEquals(ServingStatus.NOT_SERVING, seen.poll(30, TimeUnit.SECONDS));
    watch.cancel();
    ManagedChannel fresh = channel();
    var e = assertThrows(StatusRuntimeException.class,
        () -> SamplerServiceGrpc.newBlockingStub(fresh).generate(request).next());
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    server.engine().resume();
    assertEquals(2, inFlight.get(30, TimeUnit.SECONDS));
    assertTrue(server.awaitTermination(Duration.ofSeconds(30)));
  }

  /** Collects the statuses of a health Watch stream. */
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
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}

    void cancel() {
      call.cancel("test done", null);
    }
  }
}
