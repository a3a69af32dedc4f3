package dev.graft.teacher.server;

import static dev.graft.teacher.server.TestModels.VOCAB;
import static dev.graft.teacher.server.TestModels.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.TokenBatch;
import dev.graft.teacher.LogProbOps;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class LocalTeacherTest {

  private final LocalTeacher teacher = TestModels.teacher(32, 256);

  private static String message(Executable e) {
    return assertThrows(IllegalArgumentException.class, e).getMessage();
  }

  @Test
  void score_full_equalsLogSoftmaxOfModelLogits_andEachRowSumsToOne() {
    TokenBatch ids = tokens(2, 9, 1);
    Scores.Full full = (Scores.Full) teacher.score(ids, new ScoreRequest.Full(1f));
    float[] expected;
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray logits = TestModels.model().forward(ids.toNDArray(m));
      expected = logits.logSoftmax(2).toFloatArray();
    }
    assertArrayEquals(expected, full.logProbs());
    assertEquals(VOCAB, full.vocab());
    for (int p = 0; p < 18; p++) {
      assertEquals(0.0, LogProbOps.logSumExp(full.logProbs(), p * VOCAB, VOCAB), 1e-5);
    }
  }

  @Test
  void score_topK_massPlusTailIsOne_andIdsAreTheTrueTopK() {
    TokenBatch ids = tokens(3, 7, 2);
    int k = 5;
    Scores.TopK top = (Scores.TopK) teacher.score(ids, new ScoreRequest.TopK(k, 1f));
    float[] full = ((Scores.Full) teacher.score(ids, new ScoreRequest.Full(1f))).logProbs();
    for (int p = 0; p < 21; p++) {
      double mass = Math.exp(top.logTail()[p]);
      for (int j = 0; j < k; j++) {
        mass += Math.exp(top.logProbs()[p * k + j]);
        // top-k normalises in double precision, the full answer by the engine's log-softmax
        assertEquals(full[p * VOCAB + top.ids()[p * k + j]], top.logProbs()[p * k + j], 2e-6);
      }
      assertEquals(1.0, mass, 1e-5);
      java.util.Set<Integer> kept = new java.util.HashSet<>();
      float lowestKept = Float.POSITIVE_INFINITY;
      for (int j = 0; j < k; j++) {
        kept.add(top.ids()[p * k + j]);
        lowestKept = Math.min(lowestKept, full[p * VOCAB + top.ids()[p * k + j]]);
      }
      for (int v = 0; v < VOCAB; v++) {
        assertTrue(kept.contains(v) || full[p * VOCAB + v] <= lowestKept,
            "id " + v + " outside the top-k has a larger log-prob at position " + p);
      }
    }
  }

  @Test
  void score_kEqualsVocab_logTailIsNegativeInfinity() {
    Scores.TopK top = (Scores.TopK) teacher.score(tokens(1, 4, 3), new ScoreRequest.TopK(VOCAB, 1f));
    for (float tail : top.logTail()) {
      assertEquals(Float.NEGATIVE_INFINITY, tail);
    }
  }

  @Test
  void score_targets_equalTheFullDistributionAtTheTargets() {
    TokenBatch ids = tokens(2, 6, 4);
    TokenBatch targets = tokens(2, 6, 5);
    float[] full = ((Scores.Full) teacher.score(ids, new ScoreRequest.Full(0.7f))).logProbs();
    Scores.Targets t = (Scores.Targets) teacher.score(ids, new ScoreRequest.Targets(targets, 0.7f));
    for (int r = 0; r < 2; r++) {
      for (int i = 0; i < 6; i++) {
        assertEquals(full[(r * 6 + i) * VOCAB + targets.get(r, i)], t.logProbs()[r * 6 + i]);
      }
    }
  }

  @Test
  void score_temperature_dividesTheLogits() {
    TokenBatch ids = tokens(1, 5, 6);
    float[] base = ((Scores.Full) teacher.score(ids, new ScoreRequest.Full(1f))).logProbs();
    float[] hot = ((Scores.Full) teacher.score(ids, new ScoreRequest.Full(2f))).logProbs();
    for (int p = 0; p < 5; p++) {
      float[] scaled = new float[VOCAB];
      for (int v = 0; v < VOCAB; v++) {
        scaled[v] = base[p * VOCAB + v] / 2f; // log-probs differ from logits by a constant
      }
      double lse = LogProbOps.logSumExp(scaled, 0, VOCAB);
      for (int v = 0; v < VOCAB; v++) {
        assertEquals(scaled[v] - lse, hot[p * VOCAB + v], 1e-5);
      }
    }
  }

  @Test
  void score_tokenBeyondVocab_isRejectedNamingIdAndVocab() {
    TokenBatch ids = tokens(2, 4, 7);
    ids.ids()[1 * 4 + 2] = VOCAB;
    String m = message(() -> teacher.score(ids, new ScoreRequest.Full(1f)));
    assertTrue(m.contains("token id 97") && m.contains("[row 1, position 2]") && m.contains("[0, 97)"), m);
  }

  @Test
  void score_negativeToken_isRejected() {
    TokenBatch ids = tokens(1, 4, 7);
    ids.ids()[0] = -3;
    assertTrue(message(() -> teacher.score(ids, new ScoreRequest.Full(1f))).contains("-3"));
  }

  @Test
  void score_raggedRows_areRejected() {
    String m = message(() -> teacher.score(TokenBatch.of(new int[][] {{1, 2, 3}, {4, 5}}), new ScoreRequest.Full(1f)));
    assertTrue(m.contains("row 1 has 2 tokens but row 0 has 3"), m);
  }

  @Test
  void score_sequenceOverLimit_isRejectedNamingLengthAndLimit() {
    String m = message(() -> teacher.score(tokens(1, 33, 1), new ScoreRequest.Full(1f)));
    assertTrue(m.contains("33") && m.contains("max_sequence_length 32"), m);
  }

  @Test
  void score_tooManyTokens_isRejectedNamingCountAndLimit() {
    String m = message(() -> teacher.score(tokens(9, 32, 1), new ScoreRequest.Full(1f)));
    assertTrue(m.contains("288") && m.contains("max_tokens_per_request 256"), m);
  }

  @Test
  void score_kAboveVocab_isRejected() {
    String m = message(() -> teacher.score(tokens(1, 2, 1), new ScoreRequest.TopK(98, 1f)));
    assertTrue(m.contains("98") && m.contains("97"), m);
  }

  @Test
  void score_targetsOfAnotherShape_areRejected() {
    String m = message(() -> teacher.score(tokens(2, 3, 1),
        new ScoreRequest.Targets(tokens(2, 4, 1), 1f)));
    assertTrue(m.contains("(2, 4)") && m.contains("(2, 3)"), m);
  }

  @Test
  void limits_beyondModelContext_areRejected() {
    String m = message(() -> TestModels.teacher(TestModels.CONFIG.maxPositionEmbeddings() + 1, 10));
    assertTrue(m.contains("max_position_embeddings"), m);
  }

  @Test
  void score_fromManyThreads_givesTheSameAnswerAsAlone() throws Exception {
    TokenBatch ids = tokens(2, 8, 9);
    float[] alone = ((Scores.Full) teacher.score(ids, new ScoreRequest.Full(1f))).logProbs();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Scores>> futures = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        futures.add(pool.submit(() -> teacher.score(ids, new ScoreRequest.Full(1f))));
      }
      for (Future<Scores> f : futures) {
        assertArrayEquals(alone, ((Scores.Full) f.get()).logProbs());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void load_checkpointDir_scoresLikeTheModel_leavesDirUnchanged_stableFingerprint(@TempDir Path dir)
      throws IOException {
    HfCheckpoint.save(dir, TestModels.CONFIG, TestModels.model().namedParameters(), Dtype.F32,
        Long.MAX_VALUE);
    String before = digest(dir);
    TokenBatch ids = tokens(2, 5, 10);
    ScoreRequest req = new ScoreRequest.TopK(8, 1f);
    try (LocalTeacher a = LocalTeacher.load(dir, 16, 64);
        LocalTeacher b = LocalTeacher.load(dir)) {
      assertEquals(teacher.info().modelFingerprint(), a.info().modelFingerprint());
      assertEquals(a.info().modelFingerprint(), b.info().modelFingerprint());
      assertEquals(64, a.info().maxTokensPerRequest());
      assertEquals(TestModels.CONFIG.maxPositionEmbeddings(), b.info().maxSequenceLength());
      Scores.TopK expected = (Scores.TopK) teacher.score(ids, req);
      Scores.TopK got = (Scores.TopK) a.score(ids, req);
      assertArrayEquals(expected.ids(), got.ids());
      assertArrayEquals(expected.logProbs(), got.logProbs());
    }
    assertEquals(before, digest(dir));
  }

  @Test
  void info_describesTheModel() {
    TeacherInfo info = teacher.info();
    assertEquals("LlamaForCausalLM", info.architecture());
    assertEquals(VOCAB, info.vocabSize());
    assertEquals(TestModels.CONFIG.parameterCount(), info.parameterCount());
    assertEquals(TestModels.CONFIG.kvCacheBytesPerToken(4), info.kvCacheBytesPerToken());
    assertEquals(64, info.modelFingerprint().length());
    assertEquals(32, info.maxSequenceLength());
  }

  private static String digest(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir).sorted()) {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (Path f : (Iterable<Path>) files::iterator) {
        sha.update(f.getFileName().toString().getBytes());
        sha.update(Files.readAllBytes(f));
        sha.update(Files.getLastModifiedTime(f).toString().getBytes());
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
