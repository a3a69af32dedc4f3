package dev.graft.trainer.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.proto.v1.GetStatusRequest;
import dev.graft.proto.v1.RunPhase;
import dev.graft.proto.v1.TrainerServiceGrpc;
import dev.graft.proto.v1.TrainerStatus;
import dev.graft.service.Descriptions;
import dev.graft.service.TransportSecurity;
import dev.graft.trainer.distill.DistillEvaluator;
import dev.graft.trainer.distill.EvalMetrics;
import dev.graft.trainer.distill.Evaluation;
import dev.graft.trainer.distill.StepStats;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerServerTest {

  @Test
  void getStatus_overGrpc_followsTheRun() throws Exception {
    RunStatus status = new RunStatus("run-a");
    try (TrainerServer server = TrainerServer.start(0, status)) {
      ManagedChannel ch = Grpc.newChannelBuilder("localhost:" + server.port(),
          InsecureChannelCredentials.create()).build();
      try {
        var stub = TrainerServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
        TrainerStatus s = stub.getStatus(GetStatusRequest.getDefaultInstance());
        assertEquals(RunPhase.RUN_PHASE_PREPARING, s.getPhase());
        assertEquals("run-a", s.getRunId());
        assertFalse(s.hasLastEval());

        EvalMetrics before = new EvalMetrics(100, 50, 500, 400, 60); // KL 0.5
        status.onBaseline(new DistillEvaluator.Result(before, Map.of()));
        status.onStart(0, 10);
        status.onStep(new StepStats(4, 0.25, 1e-3, 0.9, 1234, 0.5, 0.1, 512));
        status.onEval(new Evaluation(4, 0.5, new DistillEvaluator.Result(new EvalMetrics(100, 10, 450, 400, 80),
            Map.of())));
        s = TrainerServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
            .getStatus(GetStatusRequest.getDefaultInstance());
        assertEquals(RunPhase.RUN_PHASE_TRAINING, s.getPhase());
        assertEquals(4, s.getStep());
        assertEquals(10, s.getTotalSteps());
        assertEquals(0.25, s.getLoss(), 1e-12);
        assertEquals(0.5, s.getMeanAlpha(), 1e-12);
        assertEquals(0.1, s.getLastEval().getKl(), 1e-12);
        assertEquals(0.8, s.getLastEval().getGapRecovered(), 1e-12);
        assertEquals(0.8, s.getLastEval().getTop1Agreement(), 1e-12);
        assertEquals(0.5, s.getLastEval().getMeanAlpha(), 1e-12, "a mid-ramp evaluation carries its mean alpha");
        assertTrue(status.snapshot().lastEval().blended());

        status.failed("teacher unavailable");
        s = TrainerServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
            .getStatus(GetStatusRequest.getDefaultInstance());
        assertEquals(RunPhase.RUN_PHASE_FAILED, s.getPhase());
        assertEquals("teacher unavailable", s.getError());

        HealthCheckResponse h = HealthGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
            .check(HealthCheckRequest.newBuilder().setService(TrainerServer.SERVICE).build());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, h.getStatus());
      } finally {
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void start_badPort_isRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainerServer.start(70000, new RunStatus("x")));
    assertTrue(e.getMessage().contains("70000"), e.getMessage());
  }

  @Test
  void start_tlsWithoutAllowedClients_isRefused_beforeBinding(@TempDir Path dir) throws Exception {
    Path cert = Files.writeString(dir.resolve("tls.crt"), "not parsed: refused before");
    Path key = Files.writeString(dir.resolve("tls.key"), "not parsed: refused before");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainerServer.start(0, -1,
        new RunStatus("x"), null, null, TransportSecurity.tls(cert, key, null)));
    assertTrue(e.getMessage().startsWith("the trainer serves policy weights and status only to authorised client"
        + " certificates: set --tls-allowed-clients"), e.getMessage());
  }

  @Test
  void toStatus_boundsTheDescription_ofAFailureWithAHugeMessage() {
    Status s = TrainerGrpcService.toStatus(new IllegalStateException("y".repeat(20_000)));
    assertEquals(Status.Code.INTERNAL, s.getCode());
    assertTrue(s.getDescription().length() <= Descriptions.MAX_CHARS, s.getDescription());
    assertTrue(s.getDescription().startsWith("trainer status failed: java.lang.IllegalStateException: yyy")
        && s.getDescription().contains("characters left out"), s.getDescription());
  }
}
