package dev.graft.teacher.server;

import static dev.graft.teacher.server.TestModels.VOCAB;
import static dev.graft.teacher.server.TestModels.assertClose;
import static dev.graft.teacher.server.TestModels.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.data.TokenBatch;
import dev.graft.model.VocabBudget;
import dev.graft.teacher.LogProbOps;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherLimits;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Scoring a chunk of positions at a time gives the unchunked answer: the log-softmax of the whole
 * forward pass reduced in Java by {@link LogProbOps}. Tolerances: 2e-6 on log-probs (the head's
 * matrix product over a chunk may round differently from one over the whole batch), 1e-5 on the
 * log tail (the engine sums in float32 where the reference sums in double).
 */
class ChunkedScoringTest {

  /** Smaller than one row of the vocabulary (97 × 4 bytes): one position per chunk. */
  private static final VocabBudget BELOW_ONE_ROW = new VocabBudget(100);

  private final LocalTeacher chunked =
      new LocalTeacher(TestModels.model(), new TeacherLimits(32, 256), BELOW_ONE_ROW);

  /** (B·T, V) log-probs of the whole forward pass at τ. */
  private static float[] reference(TokenBatch ids, float tau) {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray logits = TestModels.model().forward(ids.toNDArray(m));
      return logits.div(tau).logSoftmax(2).toFloatArray();
    }
  }

  @Test
  void full_belowOneRow_equalsTheWholeForwardPass() {
    TokenBatch ids = tokens(3, 11, 1);
    Scores.Full full = (Scores.Full) chunked.score(ids, new ScoreRequest.Full(0.7f));
    assertClose(reference(ids, 0.7f), full.logProbs(), 2e-6);
  }

  @Test
  void topK_belowOneRow_equalsTheJavaSelection() {
    TokenBatch ids = tokens(4, 9, 2);
    for (int k : new int[] {1, 5, VOCAB - 1, VOCAB}) {
      Scores.TopK expected = LogProbOps.topK(reference(ids, 1.3f), 4, 9, VOCAB, k);
      Scores.TopK got = (Scores.TopK) chunked.score(ids, new ScoreRequest.TopK(k, 1.3f));
      assertArrayEquals(expected.ids(), got.ids(), "ids at k = " + k);
      assertClose(expected.logProbs(), got.logProbs(), 2e-6);
      assertClose(expected.logTail(), got.logTail(), 1e-5);
    }
  }

  @Test
  void targets_belowOneRow_areTheLogProbsAtTheTargets() {
    TokenBatch ids = tokens(2, 13, 3);
    TokenBatch targets = tokens(2, 13, 4);
    float[] full = reference(ids, 1f);
    float[] expected = LogProbOps.targets(full, VOCAB, targets);
    Scores.Targets got = (Scores.Targets) chunked.score(ids, new ScoreRequest.Targets(targets, 1f));
    assertClose(expected, got.logProbs(), 2e-6);
  }

  @Test
  void everyChunkSize_givesTheSameAnswer() {
    TokenBatch ids = tokens(3, 10, 5);
    try (LocalTeacher whole = new LocalTeacher(TestModels.model(), new TeacherLimits(32, 256),
        VocabBudget.ofMegabytes(64, "budget"))) {
      Scores.TopK a = (Scores.TopK) whole.score(ids, new ScoreRequest.TopK(7, 1f));
      Scores.TopK b = (Scores.TopK) chunked.score(ids, new ScoreRequest.TopK(7, 1f));
      assertArrayEquals(a.ids(), b.ids());
      assertClose(a.logProbs(), b.logProbs(), 2e-6);
      assertClose(a.logTail(), b.logTail(), 2e-6);
    }
  }

  @Test
  void overGrpc_requestFarLargerThanTheBudget_isAnsweredInEveryKind() throws Exception {
    TokenBatch ids = tokens(6, 30, 6);
    TokenBatch targets = tokens(6, 30, 7);
    float[] full = reference(ids, 1f);
    try (TeacherServer server = TeacherServer.builder().teacher(chunked).metricsPort(-1).build().start();
        dev.graft.teacher.TeacherClient client =
            dev.graft.teacher.TeacherClient.connect(java.util.List.of("localhost:" + server.port()))) {
      assertClose(full, ((Scores.Full) client.score(ids, new ScoreRequest.Full(1f))).logProbs(), 2e-6);
      Scores.TopK top = (Scores.TopK) client.score(ids, new ScoreRequest.TopK(8, 1f));
      assertArrayEquals(LogProbOps.topK(full, 6, 30, VOCAB, 8).ids(), top.ids());
      assertClose(LogProbOps.targets(full, VOCAB, targets),
          ((Scores.Targets) client.score(ids, new ScoreRequest.Targets(targets, 1f))).logProbs(), 2e-6);
    }
  }

  @Test
  void serverOptions_budgetWithAGivenTeacher_isRefused() {
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> TeacherServer.builder().teacher(chunked).vocabBudget(BELOW_ONE_ROW).options());
    assertEquals("request limits and the vocabulary budget apply to a loaded checkpoint; a given teacher"
        + " brings its own (build the LocalTeacher with them instead)", e.getMessage());
  }

  @Test
  void topK_tiesAcrossTheCut_keepTheLowerIds_likeTheJavaSelection() {
    int positions = 6;
    int vocab = 40;
    Random rng = new Random(9);
    float[] lp = new float[positions * vocab];
    for (int i = 0; i < lp.length; i++) {
      lp[i] = -1 - rng.nextInt(4); // four distinct values: ties everywhere, also across the cut
    }
    lp[3 * vocab + 17] = Float.NEGATIVE_INFINITY; // a ruled-out token
    for (int v = 0; v < vocab; v++) {
      lp[5 * vocab + v] = v < 3 ? -0.5f : Float.NEGATIVE_INFINITY; // an empty tail past k = 3
    }
    for (int p = 0; p < positions; p++) { // log-probs: equal logits stay equal
      double logNorm = LogProbOps.logSumExp(lp, p * vocab, vocab);
      for (int v = 0; v < vocab; v++) {
        lp[p * vocab + v] = (float) (lp[p * vocab + v] - logNorm);
      }
    }
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray logProbs = m.create(lp, new Shape(1, positions, vocab));
      for (int k : new int[] {1, 3, 8, vocab}) {
        for (int chunk : new int[] {1, 4, positions}) {
          Scores.TopK expected = LogProbOps.topK(lp, 2, 3, vocab, k);
          Scores.TopK got = (Scores.TopK) ChunkedScoring.reduce(logProbs, 2, 3,
              new ScoreRequest.TopK(k, 1f), chunk);
          String at = "k = " + k + ", chunk = " + chunk;
          assertArrayEquals(expected.ids(), got.ids(), at);
          // top-k normalises in double precision: within rounding of the float log-probs
          assertClose(expected.logProbs(), got.logProbs(), 1e-6);
          assertClose(expected.logTail(), got.logTail(), 1e-6);
          if (k >= 3) {
            assertEquals(Float.NEGATIVE_INFINITY, got.logTail()[5], "empty tail at " + at);
          }
        }
      }
    }
  }
}
