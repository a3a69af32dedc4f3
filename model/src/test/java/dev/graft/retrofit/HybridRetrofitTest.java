package dev.graft.retrofit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
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
import org.junit.jupiter.params.provider.ValueSource;

class HybridRetrofitTest {

  private static final int VOCAB = 71;
  private static final LlamaConfig CFG = LlamaConfig.tiny(VOCAB); // 2 layers, 4 heads, hd 16
  /** Two forms of the same arithmetic in another order, fp32. */
  private static final float FORM_TOLERANCE = 1e-4f;

  private static NDManager manager;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  private static HybridRetrofit hybrid(String kept, int n, int chunk, List<String> freeze) {
    return new HybridRetrofit(kept, n, chunk, freeze);
  }

  private static NDArray gaussian(NDManager m, long seed, float std, long... shape) {
    Random rng = new Random(seed);
    Shape s = new Shape(shape);
    float[] a = new float[(int) s.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) (rng.nextGaussian() * std);
    }
    return m.create(a, s);
  }

  private static float maxDiff(float[] a, float[] b) {
    assertEquals(a.length, b.length);
    float d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }

  @ParameterizedTest(name = "chunk {0}")
  @ValueSource(ints = {1, 4, 5, 11, 64})
  void chunkedForm_equalsRecurrentForm(int chunk) {
    GatedLinearAttention g = new GatedLinearAttention(4, 2, 3, 5, chunk);
    int b = 2;
    int t = 11;
    try (NDManager m = manager.newSubManager()) {
      NDArray c = gaussian(m, 1, 0.5f, b, 4, t, 3);
      NDArray k = gaussian(m, 2, 0.5f, b, 2, t, 3);
      NDArray x = gaussian(m, 3, 1f, b, 2, t, 5);
      NDArray logDecay = gaussian(m, 4, 1f, b, 4, t).abs().neg(); // decays in (0, 1]
      NDArray s0 = gaussian(m, 5, 1f, b, 4, 3, 5);
      for (NDArray start : new NDArray[] {null, s0}) {
        GatedLinearAttention.Result parallel = g.chunked(c, k, x, logDecay, start);
        NDArray s = start == null ? m.zeros(new Shape(b, 4, 3, 5)) : start;
        List<float[]> ys = new ArrayList<>();
        for (int i = 0; i < t; i++) {
          NDIndex at = new NDIndex(":, :, {}", i);
          GatedLinearAttention.Result r = g.step(c.get(at), k.get(at), x.get(at), logDecay.get(at), s);
          s = r.state();
          ys.add(r.y().expandDims(2).toFloatArray());
        }
        for (int i = 0; i < t; i++) {
          float[] want = ys.get(i);
          float[] got = parallel.y().get(new NDIndex(":, :, {}:{}", i, i + 1)).toFloatArray();
          assertTrue(maxDiff(want, got) <= FORM_TOLERANCE, "token " + i + ": " + maxDiff(want, got));
        }
        assertTrue(maxDiff(s.toFloatArray(), parallel.state().toFloatArray()) <= FORM_TOLERANCE,
            "final states differ by " + maxDiff(s.toFloatArray(), parallel.state().toFloatArray()));
      }
    }
  }

  @Test
  void recurrence_isTheDefinition_onAScalarExample() {
    // H = KV = N = hd = 1: S_t = a_t S_{t-1} + b_t x_t, y_t = c_t S_t
    GatedLinearAttention g = new GatedLinearAttention(1, 1, 1, 1, 2);
    try (NDManager m = manager.newSubManager()) {
      float[] a = {0.5f, 0.25f, 1f};
      float[] logA = new float[3];
      for (int i = 0; i < 3; i++) {
        logA[i] = (float) Math.log(a[i]);
      }
      NDArray c = m.create(new float[] {1, 2, 3}, new Shape(1, 1, 3, 1));
      NDArray b = m.create(new float[] {1, 1, 2}, new Shape(1, 1, 3, 1));
      NDArray x = m.create(new float[] {4, 8, 1}, new Shape(1, 1, 3, 1));
      GatedLinearAttention.Result r = g.chunked(c, b, x, m.create(logA, new Shape(1, 1, 3)), null);
      // S = 4, 0.25*4 + 8 = 9, 9 + 2 = 11; y = 4, 18, 33
      assertArrayEquals(new float[] {4, 18, 33}, r.y().toFloatArray(), 1e-5f);
      assertArrayEquals(new float[] {11}, r.state().toFloatArray(), 1e-5f);
    }
  }

  @ParameterizedTest(name = "kept {0}, kv heads {1}, biases {2}")
  @CsvSource({"none,4,false", "1,2,true", "every:2,1,false"})
  void alphaZero_reproducesTeacherLogitsExactly(String kept, int kvHeads, boolean biases) {
    LlamaConfig cfg = CFG.withNumKeyValueHeads(kvHeads).withBiases(biases, false);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 9);
        RetrofitStudent student = hybrid(kept, 8, 4, List.of()).build(cfg, teacher.namedParameters(), m)) {
      NDArray ids = m.create(randomIds(2 * 11, 5), new Shape(2, 11));
      float[] want = teacher.forward(ids).toFloatArray();
      assertArrayEquals(want, student.model().forward(ids).toFloatArray(), "alpha = 0 must be bit-identical");
      student.setAllAlphas(1);
      assertTrue(maxDiff(want, student.model().forward(ids).toFloatArray()) > 1e-4,
          "gated linear attention changes the logits");
    }
  }

  private static long[] randomIds(int n, long seed) {
    Random rng = new Random(seed);
    long[] a = new long[n];
    for (int i = 0; i < a.length; i++) {
      a[i] = rng.nextInt(VOCAB);
    }
    return a;
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

  /**
   * Greedy generation through the decode path — a padded two-slot prefill (the chunked form from
   * the slots' states), then one token at a time (the recurrent form) — against recomputing the
   * full forward pass for every new token.
   */
  @ParameterizedTest(name = "alpha {0}, chunk {1}")
  @CsvSource({"1,4", "0.4,3", "1,64"})
  void decode_equalsFullForward_tokenForToken(double alpha, int chunk) {
    int context = 24;
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(CFG, m, 3);
        RetrofitStudent student = hybrid("none", 8, chunk, List.of()).build(CFG, teacher.namedParameters(), m)) {
      student.setAllAlphas(alpha);
      scramble(student, m); // the decay and C/B trained away from their init
      LlamaModel model = student.model();
      List<List<Long>> seqs = new ArrayList<>(List.of(new ArrayList<>(List.of(3L, 9L, 14L, 2L, 40L, 7L, 1L)),
          new ArrayList<>(List.of(5L, 6L, 11L))));
      try (DecodeState state = model.newDecodeState(2, context, m)) {
        long[] ids = new long[2 * 7];
        for (int i = 0; i < 7; i++) {
          ids[i] = seqs.get(0).get(i);
          ids[7 + i] = i < 3 ? seqs.get(1).get(i) : 0;
        }
        NDArray next = model.decodeNext(state, new int[] {0, 1}, m.create(ids, new Shape(2, 7)), new int[] {7, 3});
        for (int step = 0; step < 10; step++) {
          long[] chosen = new long[2];
          for (int r = 0; r < 2; r++) {
            float[] got = next.get(r).toFloatArray();
            float[] want = lastLogits(model, m, seqs.get(r));
            assertTrue(maxDiff(want, got) <= FORM_TOLERANCE, "step " + step + " row " + r + ": "
                + maxDiff(want, got));
            assertEquals(argmax(want), argmax(got), "greedy choice at step " + step);
            chosen[r] = argmax(got);
            seqs.get(r).add(chosen[r]);
          }
          next = model.decodeNext(state, new int[] {0, 1}, m.create(chosen, new Shape(2, 1)), new int[] {1, 1});
        }
      }
    }
  }

  /** Moves the new mixers' decay and C projections off their init, deterministically. */
  private static void scramble(RetrofitStudent student, NDManager m) {
    student.parameters().forEach((n, p) -> {
      if (n.contains("a_proj") || n.endsWith("q_proj.weight")) {
        p.addi(gaussian(m, n.hashCode(), n.endsWith("bias") ? 1f : 0.05f, p.getShape().getShape()));
      }
    });
  }

  private static float[] lastLogits(LlamaModel model, NDManager m, List<Long> ids) {
    long[] a = ids.stream().mapToLong(Long::longValue).toArray();
    return model.forward(m.create(a, new Shape(1, a.length))).get(new NDIndex("0, {}", a.length - 1))
        .toFloatArray();
  }

  @Test
  void decodeState_atAlphaOne_isConstantPerSlot_andAResetSlotStartsAfresh() {
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(CFG, m, 3);
        RetrofitStudent student = hybrid("none", 0, 8, List.of()).build(CFG, teacher.namedParameters(), m)) {
      student.setAllAlphas(1);
      LlamaModel model = student.model();
      try (DecodeState state = model.newDecodeState(1, 16, m);
          DecodeState longer = model.newDecodeState(1, 128, m)) {
        assertEquals(2 * 4 * (17 * 16 + 1) * 4L, state.bytesPerSlot(), "2 layers x H x ((N+1) x hd + 1), fp32");
        assertEquals(state.bytesPerSlot(), longer.bytesPerSlot(), "the state does not grow with the context");
        NDArray first = m.create(new long[] {1, 2, 3}, new Shape(1, 3));
        float[] fresh = model.decodeNext(state, new int[] {0}, first, new int[] {3}).toFloatArray();
        state.reset(0);
        float[] again = model.decodeNext(state, new int[] {0}, first, new int[] {3}).toFloatArray();
        assertArrayEquals(fresh, again, "a reset slot forgets the old sequence's state");
      }
      student.setAllAlphas(0.5);
      try (DecodeState blended = model.newDecodeState(1, 16, m)) {
        assertEquals(2 * 4 * (17 * 16 + 1) * 4L + 2 * 2 * 16 * 4 * 16 * 4L, blended.bytesPerSlot(),
            "a blended layer keeps the attention's keys and values as well as the state");
      }
    }
  }

  @Test
  void init_copiesTheAttentionAndStartsNearLinearAttention() {
    LlamaConfig cfg = CFG.withNumKeyValueHeads(2);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 4);
        RetrofitStudent student = hybrid("0", 6, 8, List.of()).build(cfg, teacher.namedParameters(), m)) {
      Map<String, NDArray> t = teacher.namedParameters();
      Map<String, NDArray> s = student.parameters();
      String p = "model.layers.1.self_attn.";
      assertEquals(new Shape(4 * 6, 64), s.get(p + "q_proj.weight").getShape());
      assertEquals(new Shape(2 * 6, 64), s.get(p + "k_proj.weight").getShape());
      // C of head 3 = rows 0..5 of the teacher's query head 3; B of kv head 1 = rows 0..5 of its key head 1
      assertArrayEquals(t.get(p + "q_proj.weight").get("48:54, :").toFloatArray(),
          s.get(p + "q_proj.weight").get("18:24, :").toFloatArray());
      assertArrayEquals(t.get(p + "k_proj.weight").get("16:22, :").toFloatArray(),
          s.get(p + "k_proj.weight").get("6:12, :").toFloatArray());
      assertArrayEquals(t.get(p + "v_proj.weight").toFloatArray(), s.get(p + "v_proj.weight").toFloatArray());
      assertArrayEquals(t.get(p + "o_proj.weight").toFloatArray(), s.get(p + "o_proj.weight").toFloatArray());
      assertArrayEquals(new float[4 * 64], s.get(p + "a_proj.weight").toFloatArray());
      float b = s.get(p + "a_proj.bias").toFloatArray()[0];
      assertEquals(0.99, Math.exp(-Math.log1p(Math.exp(b))), 1e-6, "every head starts at decay 0.99");
      assertFalse(s.containsKey("model.layers.0.self_attn.a_proj.weight"), "layer 0 keeps attention");
      assertTrue(student.state().containsKey(p + "teacher_q_proj.weight"));
      assertFalse(s.containsKey(p + "teacher_q_proj.weight"), "the teacher's projections are frozen buffers");
      assertEquals(List.of(1), ((HybridRetrofit) student.retrofit()).convertedLayers(cfg));
      assertTrue(student.model().layers().get(1).mixer() instanceof HybridMixer);
    }
  }

  @Test
  void newMixer_isTheLayerAtAlphaOne_withGradient() {
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(CFG, m, 4);
        RetrofitStudent student = hybrid("none", 0, 4, List.of()).build(CFG, teacher.namedParameters(), m)) {
      HybridMixer mixer = (HybridMixer) student.model().layers().get(0).mixer();
      NDArray x = gaussian(m, 8, 1f, 2, 9, 64);
      float[] alone = mixer.newMixer(x).toFloatArray();
      student.setAllAlphas(1);
      assertArrayEquals(alone, mixer.forward(x).toFloatArray());
      student.setAllAlphas(0);
      NDArray a = student.parameters().get("model.layers.0.self_attn.a_proj.bias");
      a.setRequiresGradient(true);
      try (GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
        gc.backward(mixer.newMixer(x).square().mean());
      }
      assertTrue(a.getGradient().abs().sum().getFloat() > 0, "the decay receives a gradient");
    }
  }

  @Test
  void freeze_turnsTheCopiedPartsIntoBuffers() {
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(CFG, m, 4);
        RetrofitStudent student = hybrid("1", 0, 8, List.of("norms", "mlp", "embeddings"))
            .build(CFG, teacher.namedParameters(), m)) {
      Map<String, NDArray> p = student.parameters();
      assertFalse(p.keySet().stream().anyMatch(n -> n.contains(".mlp.") || n.endsWith("norm.weight")
          || n.equals("model.embed_tokens.weight")), p.keySet().toString());
      assertTrue(p.containsKey("model.layers.0.self_attn.a_proj.weight"));
      assertTrue(p.containsKey("model.layers.1.self_attn.q_proj.weight"), "kept attention trains");
      assertTrue(student.state().containsKey("model.layers.0.mlp.up_proj.weight"), "frozen parts stay in the state");
      assertEquals(List.of("mlp", "embeddings", "norms"), ((HybridRetrofit) student.retrofit()).freeze());
      NDArray ids = m.create(randomIds(9, 2), new Shape(1, 9));
      assertArrayEquals(teacher.forward(ids).toFloatArray(), student.model().forward(ids).toFloatArray(),
          "frozen modules still compute");
    }
  }

  @Test
  void assemble_fromState_rebuildsTheStudent() {
    HybridRetrofit r = hybrid("every:2", 8, 4, List.of("mlp"));
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(CFG, m, 4);
        RetrofitStudent student = r.build(CFG, teacher.namedParameters(), m)) {
      student.setAllAlphas(0.7);
      NDArray ids = m.create(randomIds(9, 2), new Shape(1, 9));
      float[] want = student.model().forward(ids).toFloatArray();
      assertEquals(r.stateShapes(CFG).keySet(), student.state().keySet());
      Map<String, NDArray> copy = new java.util.LinkedHashMap<>();
      student.state().forEach((n, a) -> copy.put(n, a.duplicate()));
      LlamaModel rebuilt = ModelSpec.retrofit(CFG, Retrofits.fromJson(Retrofits.toJson(r)), student.alphas())
          .build(copy, m);
      assertArrayEquals(want, rebuilt.forward(ids).toFloatArray());
    }
  }

  @Test
  void spec_roundTrips_andSizesAreReported() {
    HybridRetrofit r = hybrid(" Every:2 ", 8, 32, List.of("norms", "mlp"));
    assertEquals(r, Retrofits.fromSpec(r.spec()));
    assertEquals("{\"type\":\"hybrid\",\"attention_layers\":\"every:2\",\"state_size\":8,\"chunk_size\":32,"
        + "\"freeze\":[\"mlp\",\"norms\"]}", Retrofits.toJson(r));
    LlamaConfig four = LlamaConfig.small(VOCAB); // 4 layers, 8 heads of 32, 8 KV heads
    assertEquals(List.of(1, 3), r.attentionLayerIndices(four));
    assertEquals(List.of(0, 2), r.convertedLayers(four));
    assertEquals(2, r.units(four));
    // attention: 2 layers x 2 x 8 x 32 x 4 B per token; GLA: 2 layers x 8 heads x ((8+1) x 32 + 1) x 4 B
    assertEquals(2L * 2 * 8 * 32 * 4 * 2048 + 2L * 8 * (9 * 32 + 1) * 4, r.kvCacheBytesPerSequence(four, 2048, 4));
    assertEquals(2L * 2 * 8 * 32 * 4 * 32768 + 2L * 8 * (9 * 32 + 1) * 4, r.kvCacheBytesPerSequence(four, 32768, 4));
    assertEquals(2L * 2 * 8 * 32 * 4, r.kvCacheBytesPerToken(four, 4), "only the attention layers grow");
    // each converted layer: q and k lose (32 - 8) rows per head, a_proj adds 8 x 256 + 8
    long delta = 2 * (-2L * 8 * 24 * 256 + 8 * 256 + 8);
    assertEquals(four.parameterCount() + delta, r.parameterCount(four));
    assertEquals(r.parameterCount(four) * 4, r.weightBytes(four));
  }

  @Test
  void impossibleRequests_areClearErrors() {
    assertEquals("hybrid retrofit: attention layer 2 does not exist; the teacher has 2 layers (0..1)",
        assertThrows(IllegalArgumentException.class, () -> hybrid("0,2", 0, 8, List.of()).targetConfig(CFG))
            .getMessage());
    assertEquals("hybrid retrofit: attention_layers '1,0' keeps all 2 layers as attention; convert at least one",
        assertThrows(IllegalArgumentException.class, () -> hybrid("1,0", 0, 8, List.of()).units(CFG)).getMessage());
    assertEquals("attention_layers 'every:1' needs every:K with K >= 2 (every:1 keeps every layer as attention)",
        assertThrows(IllegalArgumentException.class, () -> hybrid("every:1", 0, 8, List.of())).getMessage());
    assertEquals("attention_layers 'all' must be none, every:K or a comma-separated list of layer indices, e.g. 1,3",
        assertThrows(IllegalArgumentException.class, () -> hybrid("all", 0, 8, List.of())).getMessage());
    assertEquals("hybrid retrofit: state_size (17) must be at most the teacher's head_dim (16): C and B are the"
        + " first N rows of each head of W_Q and W_K",
        assertThrows(IllegalArgumentException.class, () -> hybrid("none", 17, 8, List.of()).targetConfig(CFG))
            .getMessage());
    assertEquals("state_size (-1) must be >= 1, or 0 for head_dim",
        assertThrows(IllegalArgumentException.class, () -> hybrid("none", -1, 8, List.of())).getMessage());
    assertEquals("chunk_size (0) must be >= 1",
        assertThrows(IllegalArgumentException.class, () -> hybrid("none", 0, 0, List.of())).getMessage());
    assertEquals("freeze [mlp, attention] may name only [mlp, embeddings, norms], got 'attention'",
        assertThrows(IllegalArgumentException.class, () -> hybrid("none", 0, 8, List.of("mlp", "attention")))
            .getMessage());
  }
}
