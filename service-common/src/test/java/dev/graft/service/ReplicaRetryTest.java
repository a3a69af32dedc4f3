package dev.graft.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Which failures move a call to the next replica, and which end it. */
class ReplicaRetryTest {

  private final ManagedChannel a = InProcessChannelBuilder.forName("a").build();
  private final ManagedChannel b = InProcessChannelBuilder.forName("b").build();
  private final ReplicaRetry retry = new ReplicaRetry("teacher", Replicas.borrow(List.of(a, b)),
      new ReplicaClientOptions(Duration.ofSeconds(1), 3, new Backoff(Duration.ofMillis(1), Duration.ofMillis(1)),
          d -> { }),
      IllegalStateException::new);

  @AfterEach
  void close() {
    a.shutdownNow();
    b.shutdownNow();
  }

  @Test
  void cancelledByTheServer_isRetriedOnTheNextReplica() {
    List<Integer> tried = new ArrayList<>();
    String answer = retry.callReplica("Score", (i, ch) -> {
      tried.add(i);
      if (tried.size() == 1) {
        throw Status.CANCELLED.withDescription("RST_STREAM closed stream").asRuntimeException();
      }
      return "ok from " + i;
    });
    assertEquals("ok from 1", answer);
    assertEquals(List.of(0, 1), tried);
  }

  @Test
  void cancelledBecauseTheCallerCancelled_isNotRetried() {
    Context.CancellableContext caller = Context.current().withCancellation();
    caller.cancel(null);
    List<Integer> tried = new ArrayList<>();
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> caller.call(() ->
        retry.callReplica("Score", (i, ch) -> {
          tried.add(i);
          throw Status.CANCELLED.asRuntimeException();
        })));
    assertEquals(List.of(0), tried);
    assertTrue(e.getMessage().startsWith("Score on teacher ") && e.getMessage().contains(" failed: CANCELLED"),
        e.getMessage());
  }
}
