package dev.graft.retrofit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.DecodeState;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class WindowRetrofitTest {

  private static final int VOCAB = 71;
  private static final LlamaConfig CFG = LlamaConfig.tiny(VOCAB); // 2 layers, 4 heads, hd 16, T_max 128
  /** Windowed decoding against recomputation: same arithmetic in another order, fp32. */
  private static final float DECODE_TOLERANCE = 1e-4f;

  private static NDManager manager;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  private static long[] randomIds(int n, long seed) {
    Random rng = new Random(seed);
    long[] a = new long[n];
    for (int i = 0; i < a.length; i++) {
      a[i] = rng.nextInt(VOCAB);
    }
    return a;
  }

  private static float maxDiff(float[] a, float[] b) {
    float d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }

  @Test
  void alphaZero_reproducesTeacherLogitsExactly() {
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(CFG, m, 9);
        RetrofitStudent student = new WindowRetrofit(4, 1, List.of()).build(CFG, teacher.namedParameters(), m)) {
      NDArray x = m.create(randomIds(2 * 11, 5), new Shape(2, 11));
      float[] want = teacher.forward(x).toFloatArray();
      assertArrayEquals(want, student.model().forward(x).toFloatArray(), "alpha = 0 must be bit-identical");
      student.setAllAlphas(1.0);
      assertTrue(maxDiff(want, student.model().forward(x).toFloatArray()) > 1e-4, "a 4-token window changes logits");
      // the window narrows to 11 tokens only near alpha = 1: (128 - 11) / (128 - 4) = 0.94
      student.setAllAlphas(0.9);
      assertArrayEquals(want, student.model().forward(x).toFloatArray(),
          "a window wider than the sequence is the causal mask");
    }
  }

  @ParameterizedTest(name = "alpha {0} -> window {1}")
  @CsvSource({"0,128", "1,8", "0.5,68", "0.25,98", "0.999,8"})
  void effectiveWindow_shrinksFromTheContextToW(double alpha, int want) {
    WindowRetrofit r = new WindowRetrofit(8, 0, List.of(1));
    assertEquals(want, r.effectiveWindow(CFG, alpha));
  }

  @Test
  void bandMask_keepsTheWindowAndTheSinks() {
    // query 5, window 2, 1 sink: keys 0 (sink), 4, 5
    List<Integer> seen = new ArrayList<>();
    for (int j = 0; j < 8; j++) {
      if (WindowMixer.visible(5, j, 2, 1)) {
        seen.add(j);
      }
    }
    assertEquals(List.of(0, 4, 5), seen);
  }

  /** Last-position logits of a full forward pass over {@code ids}, the windowed mask recomputed. */
  private static float[] recompute(LlamaModel model, NDManager m, List<Long> ids) {
    long[] a = ids.stream().mapToLong(Long::longValue).toArray();
    NDArray logits = model.forward(m.create(a, new Shape(1, a.length)));
    return logits.get(new NDIndex("0, {}", a.length - 1)).toFloatArray();
  }

  private static int argmax(float[] a) {
    int best = 0;
    for (int i = 1; i < a.length; i++) {
      if (a[i] > a[best]) {
        best = i;
      }
    }
    return best;
  }

  @ParameterizedTest(name = "window {0}, sinks {1}, layers {2}")
  @CsvSource({"3,1,all", "4,0,1", "2,2,0"})
  void windowedGreedyDecoding_equalsRecomputationWithTheWindowedMask(int window, int sinks, String layers) {
    WindowRetrofit r = new WindowRetrofit(window, sinks, WindowRetrofit.parseLayers(layers));
    int context = 24;
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(CFG, m, 3);
        RetrofitStudent student = r.build(CFG, teacher.namedParameters(), m);
        NDManager s = m.newSubManager()) {
      student.setAllAlphas(1.0);
      LlamaModel model = student.model();
      DecodeState state = model.newDecodeState(2, context, s);
      long perLayerFull = 2L * context * CFG.numKeyValueHeads() * CFG.headDim() * Float.BYTES;
      long perLayerWindow = 2L * (window + sinks) * CFG.numKeyValueHeads() * CFG.headDim() * Float.BYTES;
      int windowed = r.units(CFG);
      assertEquals(windowed * perLayerWindow + (CFG.numHiddenLayers() - windowed) * perLayerFull,
          state.bytesPerSlot(), "a windowed layer caches W + S positions per slot");
      // two prompts of different lengths in one padded prefill step, longer than the window
      long[] p0 = randomIds(7, 11);
      long[] p1 = randomIds(7, 12);
      List<List<Long>> seqs = List.of(new ArrayList<>(), new ArrayList<>());
      int[] lengths = {7, 5};
      for (int i = 0; i < 7; i++) {
        seqs.get(0).add(p0[i]);
        if (i < 5) {
          seqs.get(1).add(p1[i]);
        }
      }
      long[] prompt = new long[14];
      System.arraycopy(p0, 0, prompt, 0, 7);
      System.arraycopy(p1, 0, prompt, 7, 7);
      NDArray next = model.decodeNext(state, new int[] {0, 1}, s.create(prompt, new Shape(2, 7)), lengths);
      float worst = 0;
      for (int step = 0; step < 14; step++) {
        float[][] rows = {next.get(0).toFloatArray(), next.get(1).toFloatArray()};
        long[] chosen = new long[2];
        for (int b = 0; b < 2; b++) {
          float[] want = recompute(model, s, seqs.get(b));
          worst = Math.max(worst, maxDiff(want, rows[b]));
          assertEquals(argmax(want), argmax(rows[b]), "greedy token of slot " + b + " at step " + step);
          chosen[b] = argmax(rows[b]);
          seqs.get(b).add(chosen[b]);
        }
        next = model.decodeNext(state, new int[] {0, 1}, s.create(chosen, new Shape(2, 1)), new int[] {1, 1});
      }
      assertTrue(worst < DECODE_TOLERANCE, "windowed decode vs recomputation differ by " + worst);
    }
  }

  @Test
  void decodeStateAtAlphaZero_isTheTeachersCache() {
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(CFG, m, 3);
        RetrofitStudent student = new WindowRetrofit(3, 0, List.of()).build(CFG, teacher.namedParameters(), m);
        NDManager s = m.newSubManager()) {
      DecodeState full = student.model().newDecodeState(1, 16, s);
      assertEquals(teacher.newDecodeState(1, 16, s).bytesPerSlot(), full.bytesPerSlot());
      long[] ids = randomIds(6, 4);
      NDArray x = s.create(ids, new Shape(1, 6));
      assertArrayEquals(teacher.decodeNext(teacher.newDecodeState(1, 16, s), new int[] {0}, x, new int[] {6})
          .toFloatArray(), student.model().decodeNext(full, new int[] {0}, x, new int[] {6}).toFloatArray());
      student.setAllAlphas(1.0);
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> student.model()
          .decodeNext(full, new int[] {0}, s.create(new long[] {1}, new Shape(1, 1)), new int[] {1}));
      assertTrue(e.getMessage().contains("made at alpha 0.0"), e.getMessage());
    }
  }

  @Test
  void specRoundTrips() {
    for (WindowRetrofit r : List.of(new WindowRetrofit(16, 4, List.of()), new WindowRetrofit(8, 0, List.of(3, 1)))) {
      assertEquals(r, Retrofits.fromSpec(r.spec()));
      assertEquals(r, Retrofits.fromJson(Retrofits.toJson(r)));
    }
    assertEquals(List.of(1, 3), new WindowRetrofit(8, 0, List.of(3, 1)).layers());
    assertEquals("{\"type\":\"window\",\"window\":16,\"sinks\":4,\"layers\":\"all\"}",
        Retrofits.toJson(new WindowRetrofit(16, 4, List.of())));
  }

  @Test
  void stateIsTheTeachersTensors() {
    WindowRetrofit r = new WindowRetrofit(8, 0, List.of());
    assertEquals(CFG.tensorShapes(), r.stateShapes(CFG));
    assertEquals(CFG, r.targetConfig(CFG));
    assertEquals(2, r.units(CFG));
    assertEquals(1, new WindowRetrofit(8, 0, List.of(1)).units(CFG));
  }

  @Test
  void cacheBytesPerSequence_boundsTheWindowedLayers() {
    long perTokenLayer = CFG.kvCacheBytesPerToken(4) / CFG.numHiddenLayers(); // 2·4·16·4 = 512
    assertEquals(512, perTokenLayer);
    WindowRetrofit one = new WindowRetrofit(8, 2, List.of(1));
    assertEquals(512 * (100 + 10), one.kvCacheBytesPerSequence(CFG, 100, 4));
    assertEquals(512 * 2 * 5, one.kvCacheBytesPerSequence(CFG, 5, 4));
  }

  @Test
  void impossibleRequests_areClearErrors() {
    assertEquals("window (0) must be >= 1",
        assertThrows(IllegalArgumentException.class, () -> new WindowRetrofit(0, 0, List.of())).getMessage());
    assertEquals("sinks (-1) must be >= 0",
        assertThrows(IllegalArgumentException.class, () -> new WindowRetrofit(4, -1, List.of())).getMessage());
    assertEquals("window layers [1, 1] name layer 1 twice",
        assertThrows(IllegalArgumentException.class, () -> new WindowRetrofit(4, 0, List.of(1, 1))).getMessage());
    assertEquals("window retrofit: layer 2 does not exist; the teacher has 2 layers (0..1)",
        assertThrows(IllegalArgumentException.class, () -> new WindowRetrofit(4, 0, List.of(0, 2)).targetConfig(CFG))
            .getMessage());
    assertEquals("window retrofit: window (129) is larger than the teacher's context (max_position_embeddings 128)",
        assertThrows(IllegalArgumentException.class, () -> new WindowRetrofit(129, 0, List.of()).targetConfig(CFG))
            .getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> WindowRetrofit.parseLayers("1,x"))
        .getMessage().contains("'all' or a comma-separated list"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Retrofits.fromSpec(
        Map.of("type", "window", "window", 4, "sinks", 0, "layers", "some"))).getMessage()
        .contains("'layers' must be \"all\" or a non-empty list"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Retrofits.fromSpec(
        Map.of("type", "window", "window", 4, "layers", "all"))).getMessage().contains("missing [sinks]"));
  }
}
