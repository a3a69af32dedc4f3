package dev.graft.teacher.server;

import static dev.graft.teacher.server.TestModels.tokens;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.data.TokenBatch;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ScoreBatcherTest {

  private final LocalTeacher teacher = TestModels.teacher(32, 64);
  private final List<ScoreBatcher.BatchStats> batches = new CopyOnWriteArrayList<>();
  private ScoreBatcher batcher;

  private ScoreBatcher start(long capacity, int maxBatchTokens) {
    batcher = new ScoreBatcher(teacher, new ScoreBatcher.Options(capacity, maxBatchTokens, Duration.ZERO));
    batcher.addListener(new ScoreBatcher.Listener() {
      @Override
      public void onBatch(ScoreBatcher.BatchStats stats) {
        batches.add(stats);
      }
    });
    return batcher;
  }

  @AfterEach
  void close() {
    if (batcher != null) {
      batcher.close();
    }
  }

  @Test
  void queuedRequests_runInOneForwardPass_paddedToTheLongest_andMatchAlone() throws Exception {
    start(256, 256).pause();
    TokenBatch a = tokens(2, 5, 1);
    TokenBatch b = tokens(1, 9, 2);
    try (ScoreBatcher.Ticket ta = batcher.submit(a, new ScoreRequest.Full(1f));
        ScoreBatcher.Ticket tb = batcher.submit(b, new ScoreRequest.TopK(4, 1f))) {
      assertEquals(2, batcher.queued());
      batcher.resume();
      Scores.Full fa = (Scores.Full) ta.result().get();
      Scores.TopK fb = (Scores.TopK) tb.result().get();
      assertEquals(List.of(new ScoreBatcher.BatchStats(2, 3, 19, 27)), batches);
      TestModels.assertClose(((Scores.Full) teacher.score(a, new ScoreRequest.Full(1f))).logProbs(),
          fa.logProbs(), 1e-5);
      Scores.TopK alone = (Scores.TopK) teacher.score(b, new ScoreRequest.TopK(4, 1f));
      TestModels.assertClose(alone.logProbs(), fb.logProbs(), 1e-5);
      TestModels.assertClose(alone.logTail(), fb.logTail(), 1e-5);
    }
  }

  @Test
  void hiddenStates_runAlone_betweenBatchedLogitsRequests_andHoldTheirTokens() throws Exception {
    start(256, 256).pause();
    TokenBatch a = tokens(1, 5, 1);
    TokenBatch h = tokens(2, 3, 2);
    TokenBatch c = tokens(1, 4, 3);
    ScoreRequest.HiddenStates hidden = new ScoreRequest.HiddenStates(List.of(0), false, false, true);
    try (ScoreBatcher.Ticket ta = batcher.submit(a, new ScoreRequest.Full(1f));
        ScoreBatcher.Ticket th = batcher.submit(h, hidden);
        ScoreBatcher.Ticket tc = batcher.submit(c, new ScoreRequest.Full(1f))) {
      assertEquals(15, batcher.reservedTokens());
      batcher.resume();
      ta.result().get();
      Scores.HiddenStates got = (Scores.HiddenStates) th.result().get();
      tc.result().get();
      assertEquals(List.of(new ScoreBatcher.BatchStats(1, 1, 5, 5),
          new ScoreBatcher.BatchStats(1, 2, 6, 6), new ScoreBatcher.BatchStats(1, 1, 4, 4)), batches);
      assertEquals(2 * 3 * TestModels.CONFIG.hiddenSize(), got.layer(0).output().length);
    }
  }

  @Test
  void submit_overCapacity_isRejectedAtOnce_andClosingATicketFreesIt() {
    start(64, 64).pause();
    ScoreBatcher.Ticket first = batcher.submit(tokens(2, 24, 1), new ScoreRequest.Full(1f));
    TeacherOverloadedException e = assertThrows(TeacherOverloadedException.class,
        () -> batcher.submit(tokens(1, 20, 2), new ScoreRequest.Full(1f)));
    assertTrue(e.getMessage().contains("48 of 64") && e.getMessage().contains("20"), e.getMessage());
    first.close();
    assertTrue(first.result().isCancelled());
    assertEquals(0, batcher.reservedTokens());
    try (ScoreBatcher.Ticket second = batcher.submit(tokens(1, 20, 2), new ScoreRequest.Full(1f))) {
      batcher.resume();
      assertEquals(20, second.result().join().length());
    }
    assertEquals(1, batches.size(), "the cancelled request never ran");
  }

  @Test
  void batch_staysWithinMaxBatchTokens_inArrivalOrder() {
    start(256, 32).pause();
    try (var t1 = batcher.submit(tokens(1, 16, 1), new ScoreRequest.Full(1f));
        var t2 = batcher.submit(tokens(1, 8, 2), new ScoreRequest.Full(1f));
        var t3 = batcher.submit(tokens(1, 8, 3), new ScoreRequest.Full(1f))) {
      batcher.resume();
      t3.result().join();
      assertTrue(t1.result().isDone() && t2.result().isDone());
      // (1+1)·16 = 32 fits; adding the third would make 3·16 = 48.
      assertEquals(List.of(new ScoreBatcher.BatchStats(2, 2, 24, 32),
          new ScoreBatcher.BatchStats(1, 1, 8, 8)), batches);
    }
  }

  @Test
  void close_servesQueuedRequests_thenRefusesNewOnes() {
    start(256, 256).pause();
    ScoreBatcher.Ticket queued = batcher.submit(tokens(1, 4, 1), new ScoreRequest.Full(1f));
    batcher.close();
    assertTrue(queued.result().isDone());
    assertFalse(queued.result().isCompletedExceptionally());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> batcher.submit(tokens(1, 4, 1), new ScoreRequest.Full(1f)));
    assertTrue(e.getMessage().contains("shutting down"));
  }

  @Test
  void submit_invalidRequest_isRejectedBeforeQueueing() {
    start(256, 256);
    assertThrows(IllegalArgumentException.class,
        () -> batcher.submit(TokenBatch.of(new int[][] {{97}}), new ScoreRequest.Full(1f)));
    assertEquals(0, batcher.reservedTokens());
  }

  @Test
  void capacityBelowOneFullRequest_isRejected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ScoreBatcher(teacher, new ScoreBatcher.Options(10, 64, Duration.ZERO)));
    assertTrue(e.getMessage().contains("max_tokens_per_request (64)"), e.getMessage());
  }

  @Test
  void score_convenience_releasesItsReservation() {
    start(64, 64);
    Scores s = batcher.score(tokens(2, 3, 1), new ScoreRequest.TopK(3, 1f));
    assertEquals(2, s.batch());
    assertEquals(0, batcher.reservedTokens());
  }
}
