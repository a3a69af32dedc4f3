package dev.graft.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.retrofit.GqaRetrofit;
import dev.graft.retrofit.KvInit;
import dev.graft.retrofit.RetrofitStudent;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Incremental decoding of independent sequences in slots equals a full forward pass of each
 * sequence alone, for every mixer type: the same test for each, rows at different positions,
 * prefills of different lengths padded into one call, single-token steps, and slot reuse.
 */
class DecodeTest {

  private static final int VOCAB = 61;
  private static final double TOLERANCE = 1e-4;
  private static NDManager manager;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  /** A mixer kind: makes a model whose layers all use it. */
  record Kind(String name, BiFunction<NDManager, Long, LlamaModel> make) {
    @Override
    public String toString() {
      return name;
    }
  }

  /** Biases everywhere, head_dim 24 ≠ 64/4, llama3 rope scaling whose three bands all occur. */
  static LlamaConfig biasedWideHeadsLlama3() {
    return LlamaConfig.tiny(VOCAB).withHeadDim(24).withNumKeyValueHeads(2).withBiases(true, true)
        .withRopeScaling(new RopeScaling.Llama3(8, 1, 4, 32));
  }

  static Stream<Arguments> kinds() {
    LlamaConfig mha = LlamaConfig.tiny(VOCAB);
    LlamaConfig biased = biasedWideHeadsLlama3();
    return Stream.of(
        new Kind("attention biased head_dim 24 llama3 GQA(2)", (m, s) -> LlamaModel.random(biased, m, s)),
        new Kind("gqa retrofit of biased, alphas 0.4/1", (m, s) -> student(biased, 1, KvInit.MEAN_POOL, m, s, 0.4, 1)),
        new Kind("mqa->gqa retrofit of biased, alphas 0.7/0", (m, s) ->
            student(biased.withNumKeyValueHeads(1), 4, KvInit.DUPLICATE, m, s, 0.7, 0)),
        new Kind("attention MHA", (m, s) -> LlamaModel.random(mha, m, s)),
        new Kind("attention GQA(2)", (m, s) -> LlamaModel.random(mha.withNumKeyValueHeads(2), m, s)),
        new Kind("attention MQA", (m, s) -> LlamaModel.random(mha.withNumKeyValueHeads(1), m, s)),
        new Kind("gqa retrofit alpha 0", (m, s) -> student(mha, 2, KvInit.MEAN_POOL, m, s, 0, 0)),
        new Kind("gqa retrofit alphas 0.3/0.8", (m, s) -> student(mha, 2, KvInit.RANDOM, m, s, 0.3, 0.8)),
        new Kind("gqa retrofit alpha 1", (m, s) -> student(mha, 1, KvInit.KEEP_ONE, m, s, 1, 1)),
        new Kind("mqa->gqa retrofit alphas 0.5/1", (m, s) ->
            student(mha.withNumKeyValueHeads(1), 2, KvInit.DUPLICATE, m, s, 0.5, 1)))
        .map(Arguments::of);
  }

  /** A retrofit student of a random teacher, its units at {@code alphas}; the teacher is freed. */
  private static LlamaModel student(LlamaConfig teacherConfig, int kv, KvInit init, NDManager m, long seed,
      double... alphas) {
    try (LlamaModel teacher = LlamaModel.random(teacherConfig, m, seed)) {
      RetrofitStudent s = new GqaRetrofit(kv, init, seed + 1).build(teacherConfig, teacher.namedParameters(), m);
      s.setAlphas(alphas);
      return s.model();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kinds")
  void slotDecoding_equalsFullForwardOfEachSequenceAlone(Kind kind) {
    try (NDManager m = manager.newSubManager();
        LlamaModel model = kind.make().apply(m, 7L);
        DecodeState state = model.newDecodeState(4, 16, m)) {
      int[][] seqs = {randomIds(9, 1), randomIds(6, 2), randomIds(11, 3), randomIds(5, 4)};
      float[][][] want = new float[seqs.length][][];
      for (int i = 0; i < seqs.length; i++) {
        want[i] = fullLogits(model, seqs[i], m);
      }
      // Two prefills of different lengths in one padded call: seq 0 in slot 3, seq 1 in slot 0.
      check(model, state, m, want, seqs, new int[] {3, 0}, new int[] {0, 1}, new int[] {0, 0}, new int[] {5, 2});
      // Rows at different positions, one of them new: seq 1 (pos 2), seq 2 in slot 2 (pos 0), seq 0 (pos 5).
      check(model, state, m, want, seqs, new int[] {0, 2, 3}, new int[] {1, 2, 0}, new int[] {2, 0, 5},
          new int[] {4, 3, 1});
      // Single-token steps until every sequence is complete, each row at its own position.
      int[] slotOf = {3, 0, 2};
      int[] done = {6, 6, 3};
      while (true) {
        List<Integer> rows = Stream.of(0, 1, 2).filter(i -> done[i] < seqs[i].length).toList();
        if (rows.isEmpty()) {
          break;
        }
        int[] slots = rows.stream().mapToInt(i -> slotOf[i]).toArray();
        int[] which = rows.stream().mapToInt(i -> i).toArray();
        int[] from = rows.stream().mapToInt(i -> done[i]).toArray();
        int[] ones = new int[rows.size()];
        Arrays.fill(ones, 1);
        check(model, state, m, want, seqs, slots, which, from, ones);
        rows.forEach(i -> done[i]++);
      }
      assertEquals(9, state.length(3));
      assertEquals(11, state.length(2));
      // A reused slot forgets its old sequence: seq 3 in slot 0 after reset.
      state.reset(0);
      check(model, state, m, want, seqs, new int[] {0}, new int[] {3}, new int[] {0}, new int[] {3});
      check(model, state, m, want, seqs, new int[] {0}, new int[] {3}, new int[] {3}, new int[] {2});
    }
  }

  /**
   * Decodes tokens [from[b], from[b] + len[b]) of sequence which[b] in slot slots[b], padded to the
   * longest row, and compares every real position and the next-token logits with the full pass.
   */
  private static void check(LlamaModel model, DecodeState state, NDManager m, float[][][] want,
      int[][] seqs, int[] slots, int[] which, int[] from, int[] len) {
    int t = Arrays.stream(len).max().orElseThrow();
    long[] ids = new long[slots.length * t];
    for (int b = 0; b < slots.length; b++) {
      for (int i = 0; i < len[b]; i++) {
        ids[b * t + i] = seqs[which[b]][from[b] + i];
      }
    }
    int v = model.config().vocabSize();
    try (NDManager call = m.newSubManager()) {
      float[] got = model.decode(state, slots, call.create(ids, new Shape(slots.length, t)), len).toFloatArray();
      for (int b = 0; b < slots.length; b++) {
        for (int i = 0; i < len[b]; i++) {
          float[] row = Arrays.copyOfRange(got, (b * t + i) * v, (b * t + i + 1) * v);
          assertClose(want[which[b]][from[b] + i], row, "seq " + which[b] + " position " + (from[b] + i));
        }
      }
    }
    for (int b = 0; b < slots.length; b++) {
      assertEquals(from[b] + len[b], state.length(slots[b]), "slot " + slots[b] + " length");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kinds")
  void decodeNext_givesTheLogitsAfterEachRowsLastRealToken(Kind kind) {
    try (NDManager m = manager.newSubManager();
        LlamaModel model = kind.make().apply(m, 5L);
        DecodeState state = model.newDecodeState(2, 12, m)) {
      int[] a = randomIds(7, 8);
      int[] b = randomIds(3, 9);
      long[] ids = new long[2 * 7];
      for (int i = 0; i < 7; i++) {
        ids[i] = a[i];
      }
      for (int i = 0; i < 3; i++) {
        ids[7 + i] = b[i];
      }
      float[] next = model.decodeNext(state, new int[] {1, 0}, m.create(ids, new Shape(2, 7)), new int[] {7, 3})
          .toFloatArray();
      assertEquals(2 * VOCAB, next.length);
      assertClose(fullLogits(model, a, m)[6], Arrays.copyOfRange(next, 0, VOCAB), "row 0");
      assertClose(fullLogits(model, b, m)[2], Arrays.copyOfRange(next, VOCAB, 2 * VOCAB), "row 1");
    }
  }

  @Test
  void invalidCalls_areRefusedWithTheirValues_andLeaveTheStateAsItWas() {
    try (NDManager m = manager.newSubManager();
        LlamaModel model = LlamaModel.random(LlamaConfig.tiny(VOCAB), m, 3);
        DecodeState state = model.newDecodeState(2, 4, m)) {
      NDArray one = m.create(new long[] {1, 2}, new Shape(2, 1));
      var twice = assertThrows(IllegalArgumentException.class,
          () -> model.decode(state, new int[] {1, 1}, one, new int[] {1, 1}));
      assertEquals("slot 1 appears twice in one decode call", twice.getMessage());
      var range = assertThrows(IllegalArgumentException.class,
          () -> model.decode(state, new int[] {0, 2}, one, new int[] {1, 1}));
      assertEquals("slot 2 is not in [0, 2)", range.getMessage());
      var empty = assertThrows(IllegalArgumentException.class,
          () -> model.decode(state, new int[] {0, 1}, one, new int[] {1, 0}));
      assertEquals("row 1 has length 0 but must have 1..1 real tokens", empty.getMessage());
      NDArray five = m.create(new long[] {1, 2, 3, 4, 5}, new Shape(1, 5));
      var full = assertThrows(IllegalArgumentException.class,
          () -> model.decode(state, new int[] {0}, five, new int[] {5}));
      assertEquals("slot 0 holds 0 tokens; 5 more exceed its context of 4", full.getMessage());
      assertEquals(0, state.length(0));
      assertEquals(0, state.length(1));
      assertThrows(IllegalArgumentException.class, () -> model.newDecodeState(1, 129, m));
    }
  }

  @Test
  void retrofitMixer_whoseAlphaChangedAfterTheStateWasMade_refusesTheOldCache() {
    try (NDManager m = manager.newSubManager()) {
      LlamaConfig cfg = LlamaConfig.tiny(VOCAB);
      try (LlamaModel teacher = LlamaModel.random(cfg, m, 2);
          RetrofitStudent s = new GqaRetrofit(2, KvInit.MEAN_POOL, 1).build(cfg, teacher.namedParameters(), m);
          DecodeState state = s.model().newDecodeState(1, 8, m)) {
        s.setAllAlphas(1);
        var e = assertThrows(IllegalStateException.class,
            () -> s.model().decode(state, new int[] {0}, m.create(new long[] {3}, new Shape(1, 1)), new int[] {1}));
        assertTrue(e.getMessage().contains("made at alpha 0.0 but the layer is now at 1.0"), e.getMessage());
      }
    }
  }

  private static float[][] fullLogits(LlamaModel model, int[] seq, NDManager m) {
    try (NDManager call = m.newSubManager()) {
      long[] ids = Arrays.stream(seq).asLongStream().toArray();
      float[] flat = model.forward(call.create(ids, new Shape(1, seq.length))).toFloatArray();
      int v = model.config().vocabSize();
      float[][] out = new float[seq.length][];
      for (int i = 0; i < seq.length; i++) {
        out[i] = Arrays.copyOfRange(flat, i * v, (i + 1) * v);
      }
      return out;
    }
  }

  private static int[] randomIds(int n, long seed) {
    Random rng = new Random(seed);
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = rng.nextInt(VOCAB);
    }
    return ids;
  }

  private static void assertClose(float[] want, float[] got, String what) {
    double worst = 0;
    for (int i = 0; i < want.length; i++) {
      worst = Math.max(worst, Math.abs(want[i] - got[i]));
    }
    assertTrue(worst < TOLERANCE, what + ": max |decoded - full| = " + worst);
  }
}
