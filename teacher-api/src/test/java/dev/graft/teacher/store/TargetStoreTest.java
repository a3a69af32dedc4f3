package dev.graft.teacher.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.TensorCodec;
import dev.graft.data.TokenBatch;
import dev.graft.teacher.FakeTeacher;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TargetStoreTest {

  private static final int T = 12;
  private static final int SEQUENCES = 10;

  private static int[][] corpus(int vocab) {
    SplittableRandom r = new SplittableRandom(7);
    int[][] rows = new int[SEQUENCES][T];
    for (int[] row : rows) {
      for (int i = 0; i < T; i++) {
        row[i] = r.nextInt(vocab);
      }
    }
    return rows;
  }

  private static StoreKey key(FakeTeacher teacher, int k, Dtype dtype) {
    return new StoreKey(teacher.info().modelFingerprint(), "tok", teacher.info().vocabSize(), "docs", "test",
        T, SEQUENCES, "tokens", k, 1.0f, dtype);
  }

  private static float[] rounded(float[] v, Dtype dtype) {
    ByteBuffer b = ByteBuffer.allocate(v.length * dtype.byteSize());
    TensorCodec.encode(FloatBuffer.wrap(v), dtype, b);
    return TensorCodec.decodeToArray(b.flip(), dtype);
  }

  private static void assertRowsMatchTeacher(TargetStore store, FakeTeacher teacher, int[][] corpus, int[] which,
      Dtype dtype) {
    Scores.TopK got = store.rows(which);
    int[] ids = new int[which.length * T];
    for (int i = 0; i < which.length; i++) {
      System.arraycopy(corpus[which[i]], 0, ids, i * T, T);
    }
    Scores.TopK want = (Scores.TopK) teacher.score(new TokenBatch(which.length, T, ids),
        new ScoreRequest.TopK(store.key().k(), 1.0f));
    assertArrayEquals(want.ids(), got.ids());
    assertArrayEquals(rounded(want.logProbs(), dtype), got.logProbs(), 0f);
    assertArrayEquals(rounded(want.logTail(), dtype), got.logTail(), 0f);
  }

  @Test
  void written_thenRead_givesTheTeachersTargetsRoundedToTheStoreDtype(@TempDir Path tmp) throws Exception {
    for (Dtype dtype : List.of(Dtype.BF16, Dtype.F32)) {
      FakeTeacher teacher = new FakeTeacher(300, 3);
      int[][] corpus = corpus(300);
      Path dir = tmp.resolve("store-" + dtype);
      List<Long> progress = new ArrayList<>();
      TargetStoreWriter w = new TargetStoreWriter(key(teacher, 8, dtype), IntStream.range(0, SEQUENCES).toArray(),
          s -> corpus[s], 3, 4);
      assertTrue(w.write(dir, teacher, (done, total) -> progress.add(done)));
      assertEquals(List.of(0L, 4L, 8L, 10L), progress);
      assertFalse(Files.exists(tmp.resolve("store-" + dtype + ".partial")));
      TargetStore store = TargetStore.open(dir);
      assertRowsMatchTeacher(store, teacher, corpus, new int[] {9, 0, 4, 5}, dtype);
      assertFalse(w.write(dir, teacher, (d, t) -> {}), "a finished store is not scored again");
    }
  }

  @Test
  void bf16AtK64_takes258BytesPerToken_and266AtA128kVocabulary() {
    assertEquals(258.0, new RowCodec(128, 64, 4096, Dtype.BF16).bytesPerToken(), 0);
    assertEquals(266.0, new RowCodec(128, 64, 128_256, Dtype.BF16).bytesPerToken(), 0);
    assertEquals(17, RowCodec.idBits(128_256));
  }

  @Test
  void idsOver16Bits_roundTripBitPacked(@TempDir Path tmp) throws Exception {
    FakeTeacher teacher = new FakeTeacher(70_000, 5);
    int[][] corpus = corpus(70_000);
    new TargetStoreWriter(key(teacher, 5, Dtype.BF16), new int[] {2, 7}, s -> corpus[s], 2, 2)
        .write(tmp.resolve("s"), teacher, (d, t) -> {});
    TargetStore store = TargetStore.open(tmp.resolve("s"));
    assertRowsMatchTeacher(store, teacher, corpus, new int[] {7, 2}, Dtype.BF16);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> store.rows(new int[] {3}));
    assertTrue(e.getMessage().contains("does not hold training sequence 3"), e.getMessage());
  }

  @Test
  void corruptChunk_isAnErrorNamingTheFile(@TempDir Path tmp) throws Exception {
    FakeTeacher teacher = new FakeTeacher(300, 3);
    int[][] corpus = corpus(300);
    Path dir = tmp.resolve("s");
    new TargetStoreWriter(key(teacher, 8, Dtype.BF16), IntStream.range(0, SEQUENCES).toArray(), s -> corpus[s], 4, 4)
        .write(dir, teacher, (d, t) -> {});
    try (RandomAccessFile f = new RandomAccessFile(dir.resolve("chunk-00001.bin").toFile(), "rw")) {
      f.seek(100);
      int b = f.read();
      f.seek(100);
      f.write(b ^ 0x10);
    }
    TargetStore store = TargetStore.open(dir);
    store.rows(new int[] {0, 1}); // chunk 0 is intact
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> store.rows(new int[] {5}));
    assertTrue(e.getMessage().contains("chunk-00001.bin") && e.getMessage().contains("corrupt"), e.getMessage());
  }

  @Test
  void truncatedChunk_isRefusedWhenOpened(@TempDir Path tmp) throws Exception {
    FakeTeacher teacher = new FakeTeacher(300, 3);
    int[][] corpus = corpus(300);
    Path dir = tmp.resolve("s");
    new TargetStoreWriter(key(teacher, 8, Dtype.BF16), IntStream.range(0, SEQUENCES).toArray(), s -> corpus[s], 4, 4)
        .write(dir, teacher, (d, t) -> {});
    try (RandomAccessFile f = new RandomAccessFile(dir.resolve("chunk-00002.bin").toFile(), "rw")) {
      f.setLength(f.length() - 1);
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TargetStore.open(dir));
    assertTrue(e.getMessage().contains("chunk-00002.bin"), e.getMessage());
  }

  @Test
  void interruptedWrite_isNotAStore_andResumesFromItsFinishedChunks(@TempDir Path tmp) throws Exception {
    int[][] corpus = corpus(300);
    Path dir = tmp.resolve("s");
    FakeTeacher teacher = new FakeTeacher(300, 3);
    TargetStoreWriter w = new TargetStoreWriter(key(teacher, 8, Dtype.BF16), IntStream.range(0, SEQUENCES).toArray(),
        s -> corpus[s], 2, 4);
    // The teacher stops answering in the middle of the second chunk.
    int[] calls = {0};
    TargetStoreWriter.Progress none = (d, t) -> {};
    dev.graft.teacher.TeacherScorer failing = new Delegate(teacher) {
      @Override
      public Scores score(TokenBatch tokens, ScoreRequest request) {
        if (++calls[0] == 4) {
          throw new IllegalStateException("teacher went away");
        }
        return super.score(tokens, request);
      }
    };
    assertThrows(IllegalStateException.class, () -> w.write(dir, failing, none));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TargetStore.open(dir));
    assertTrue(e.getMessage().contains("unfinished"), e.getMessage());
    int before = teacher.calls();
    w.write(dir, teacher, none);
    assertEquals(3, teacher.calls() - before, "chunk 0 (2 requests) is kept; chunks 1 and 2 take 2 + 1");
    assertRowsMatchTeacher(TargetStore.open(dir), teacher, corpus, IntStream.range(0, SEQUENCES).toArray(),
        Dtype.BF16);
  }

  @Test
  void keyMismatch_namesEachDifferingField(@TempDir Path tmp) throws IOException {
    FakeTeacher teacher = new FakeTeacher(300, 3);
    int[][] corpus = corpus(300);
    StoreKey stored = key(teacher, 8, Dtype.BF16);
    new TargetStoreWriter(stored, new int[] {0}, s -> corpus[s], 1, 1).write(tmp.resolve("s"), teacher, (d, t) -> {});
    TargetStore store = TargetStore.open(tmp.resolve("s"));
    store.requireKey(stored);
    StoreKey run = new StoreKey("other-teacher", "tok", 300, "docs", "test", T, SEQUENCES, "tokens", 16, 1.0f,
        Dtype.BF16);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> store.requireKey(run));
    assertTrue(e.getMessage().contains("teacher model fingerprint: store " + teacher.info().modelFingerprint()
        + ", run other-teacher") && e.getMessage().contains("k: store 8, run 16"), e.getMessage());
    assertFalse(e.getMessage().contains("dtype"), e.getMessage());
  }

  @Test
  void missingStore_saysHowToWriteOne(@TempDir Path tmp) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TargetStore.open(tmp.resolve("nothing")));
    assertTrue(e.getMessage().contains("no target store at") && e.getMessage().contains("graft score"),
        e.getMessage());
  }

  /** Forwards to a scorer; tests override what they change. */
  private static class Delegate implements dev.graft.teacher.TeacherScorer {
    private final dev.graft.teacher.TeacherScorer inner;

    Delegate(dev.graft.teacher.TeacherScorer inner) {
      this.inner = inner;
    }

    @Override
    public dev.graft.teacher.TeacherInfo info() {
      return inner.info();
    }

    @Override
    public Scores score(TokenBatch tokens, ScoreRequest request) {
      return inner.score(tokens, request);
    }

    @Override
    public void close() {}
  }
}
