package dev.graft.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ConnectivityState;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A server with a maximum connection age sends its clients away to reconnect; without one it does not. */
class ServiceHostConnectionAgeTest {

  @Test
  void maxConnectionAge_closesTheConnection_andTheChannelReconnectsOnTheNextCall() throws Exception {
    try (ServiceHost host = start(Duration.ofMillis(300))) {
      ManagedChannel channel = channel(host);
      try {
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, check(channel));
        assertTrue(awaitLeaving(channel, ConnectivityState.READY, Duration.ofSeconds(30)),
            "the connection was not closed at its maximum age");
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, check(channel), "a new connection serves");
      } finally {
        channel.shutdownNow();
      }
    }
  }

  @Test
  void withoutMaxConnectionAge_theConnectionStays() throws Exception {
    try (ServiceHost host = start(Duration.ZERO)) {
      ManagedChannel channel = channel(host);
      try {
        check(channel);
        assertTrue(!awaitLeaving(channel, ConnectivityState.READY, Duration.ofSeconds(2)),
            "the connection closed without a maximum age");
      } finally {
        channel.shutdownNow();
      }
    }
  }

  @Test
  void negativeMaxConnectionAge_isRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ServiceHost.Options("teacher", 0, -1, Duration.ZERO, Duration.ofSeconds(-1)));
    assertEquals("max connection age (PT-1S) must be >= 0 (0 = off)", e.getMessage());
  }

  private static ServiceHost start(Duration maxAge) throws Exception {
    return ServiceHost.start(new ServiceHost.Options("test", 0, -1, Duration.ofMillis(100), maxAge),
        executor -> List.of(), List.of(), true, null);
  }

  private static ManagedChannel channel(ServiceHost host) {
    return Grpc.newChannelBuilder("localhost:" + host.port(), InsecureChannelCredentials.create()).build();
  }

  private static HealthCheckResponse.ServingStatus check(ManagedChannel channel) {
    return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()).getStatus();
  }

  /** Whether the channel leaves {@code state} within {@code timeout}. */
  private static boolean awaitLeaving(ManagedChannel channel, ConnectivityState state, Duration timeout)
      throws InterruptedException {
    assertEquals(state, channel.getState(false));
    CountDownLatch changed = new CountDownLatch(1);
    channel.notifyWhenStateChanged(state, changed::countDown);
    return changed.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
