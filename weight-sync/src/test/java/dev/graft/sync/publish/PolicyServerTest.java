package dev.graft.sync.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.proto.v1.FetchWeightsRequest;
import dev.graft.proto.v1.PolicyServiceGrpc;
import dev.graft.service.Descriptions;
import dev.graft.service.LoggedFailures;
import dev.graft.sync.FakeInstaller;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.SyncEvents;
import dev.graft.sync.SyncFixtures;
import dev.graft.sync.subscribe.WeightSubscriber;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The standalone server over loopback TCP, with a subscriber that owns its channel. */
class PolicyServerTest {

  @Test
  void subscriberOverLoopback_installsVersions_andCloseEndsTheWatchGracefully() throws Exception {
    WeightPublisher publisher = new WeightPublisher();
    FakeInstaller installer = new FakeInstaller();
    SyncEvents events = new SyncEvents();
    Map<String, float[]> v1 = SyncFixtures.weights(1);
    publisher.publish(new PolicyUpdate(1, SyncFixtures.CONFIG, v1));
    PolicyServer server = PolicyServer.start(publisher, 0, 64 * 1024, Duration.ofSeconds(30));
    ManagedChannel probe = Grpc.newChannelBuilder("localhost:" + server.port(),
        InsecureChannelCredentials.create()).build();
    try (WeightSubscriber subscriber = WeightSubscriber.builder()
        .endpoint("localhost:" + server.port()).installer(installer).listener(events)
        .sleeper(d -> { }).build().start()) {
      assertEquals(1, subscriber.awaitFirstVersion(Duration.ofSeconds(10)));
      events.expectInstalled(1);
      SyncFixtures.assertBitIdentical(v1, installer.installed().get(0).tensors());
      assertEquals(ServingStatus.SERVING, HealthGrpc.newBlockingStub(probe)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .check(HealthCheckRequest.newBuilder().setService(PolicyServiceGrpc.SERVICE_NAME).build())
          .getStatus());
      publisher.publish(SyncFixtures.update(2, 2));
      events.expectInstalled(2);

      long start = System.nanoTime();
      server.close(); // the open watch must not hold the 30 s grace
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20), "close waited on the watch");
      assertEquals(2, installer.currentVersion());
    } finally {
      probe.shutdownNow();
      server.close();
    }
  }

  @Test
  void fetchWeights_tensorNameOfThousandsOfCharacters_isInvalidArgument_withABoundedDescription()
      throws Exception {
    WeightPublisher publisher = new WeightPublisher();
    publisher.publish(SyncFixtures.update(1, 1));
    String name = "model.layers.0." + "x".repeat(20_000);
    try (PolicyServer server = PolicyServer.start(publisher, 0);
        LoggedFailures logged = new LoggedFailures()) {
      ManagedChannel channel = Grpc.newChannelBuilder("localhost:" + server.port(),
          InsecureChannelCredentials.create()).build();
      try {
        var request = FetchWeightsRequest.newBuilder().setVersion(1).addTensorNames(name).build();
        Status s = assertThrows(StatusRuntimeException.class, () -> PolicyServiceGrpc.newBlockingStub(channel)
            .withDeadlineAfter(10, TimeUnit.SECONDS).fetchWeights(request).hasNext()).getStatus();
        assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), String.valueOf(s));
        assertTrue(s.getDescription().length() <= Descriptions.MAX_CHARS, s.getDescription().length() + " characters");
        assertTrue(s.getDescription().startsWith("version 1 has no tensor named 'model.layers.0.xxx")
            && s.getDescription().contains("characters left out"), s.getDescription());
        assertEquals(List.of(), logged.withStackTraces(), "a client's mistake is not a server failure");
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
