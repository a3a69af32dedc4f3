package dev.graft.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RoleMetricsTest {

  private static final String CHECK = "{method=\"Check\",method_type=\"UNARY\",service=\"grpc.health.v1.Health\","
      + "status_code=\"OK\"}";

  @Test
  void callsThroughAHostAndAnInterceptedChannel_areCountedOnBothSides_andServedAtMetrics() throws Exception {
    try (RoleMetrics server = new RoleMetrics(); RoleMetrics client = new RoleMetrics();
        ServiceHost host = ServiceHost.start(new ServiceHost.Options("test", 0, 0, Duration.ZERO),
            executor -> List.of(), List.of(), true, server);
        Replicas replicas = Replicas.open(List.of(new HostPort("localhost", host.port())),
            ReplicaClientBuilder.DEFAULT_MAX_INBOUND_BYTES, TransportSecurity.plaintext(),
            List.of(client.clientInterceptor()))) {
      for (int i = 0; i < 2; i++) {
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(replicas.channels().get(0))
            .withDeadlineAfter(10, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()).getStatus());
      }
      String served = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://localhost:" + host.metricsPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(served.contains("grpc_server_processing_duration_seconds_count" + CHECK + " 2"), served);
      assertTrue(served.contains("# TYPE jvm_memory_used_bytes gauge"), served);
      assertTrue(served.contains("# TYPE process_cpu_seconds_total counter"), served);
      assertFalse(served.contains("grpc_client_"), "the server's registry has no client meters");
      assertTrue(client.scrape().contains("grpc_client_processing_duration_seconds_count" + CHECK + " 2"),
          client.scrape());
    }
  }

  @Test
  void aMetricsPortWithoutMetrics_isRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ServiceHost.start(
        new ServiceHost.Options("test", 0, 0, Duration.ZERO), executor -> List.of(), List.of(), true, null));
    assertEquals("a metrics port (0) needs metrics", e.getMessage());
  }
}
