package dev.graft.retrofit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.checkpoint.SafetensorsReader;
import dev.graft.checkpoint.ShardedWriter;
import dev.graft.model.DecodeState;
import dev.graft.model.FakeQuant;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.retrofit.QuantRetrofit.Granularity;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class QuantRetrofitTest {

  private static NDManager manager;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  private static QuantRetrofit all(int bits, int groupSize) {
    return new QuantRetrofit(bits, groupSize == 0 ? Granularity.PER_CHANNEL : Granularity.PER_GROUP, groupSize,
        QuantRetrofit.PROJECTIONS);
  }

  private static NDArray ids(NDManager m, int vocab) {
    Random rng = new Random(5);
    long[] a = new long[2 * 9];
    for (int i = 0; i < a.length; i++) {
      a[i] = rng.nextInt(vocab);
    }
    return m.create(a, new Shape(2, 9));
  }

  @ParameterizedTest(name = "int{0}, group {1}")
  @CsvSource({"8,0", "4,0", "8,4", "4,8", "4,1"})
  void fakeQuant_errorWithinHalfAScale_andCodesOnTheSymmetricGrid(int bits, int groupSize) {
    FakeQuant q = new FakeQuant(bits, groupSize);
    try (NDManager m = manager.newSubManager()) {
      NDArray w = m.randomNormal(new Shape(6, 16)).mul(0.3);
      w.set(new ai.djl.ndarray.index.NDIndex("2, :"), 0f); // an all-zero row: scale 0, codes 0
      FakeQuant.Quantized z = q.quantize(w);
      long groups = groupSize == 0 ? 1 : 16 / groupSize;
      assertEquals(new Shape(6, groups), z.scales().getShape());
      float[] wv = w.toFloatArray();
      float[] codes = z.codes().toFloatArray();
      float[] scales = z.scales().toFloatArray();
      float[] deq = q.apply(w, m).toFloatArray();
      int max = (1 << (bits - 1)) - 1;
      boolean reachesMax = false;
      for (int i = 0; i < wv.length; i++) {
        int row = i / 16;
        int g = (int) ((i % 16) / (16 / groups));
        float s = scales[(int) (row * groups + g)];
        assertEquals(Math.rint(codes[i]), codes[i], "codes are integers");
        assertTrue(Math.abs(codes[i]) <= max, "code " + codes[i] + " outside ±" + max);
        reachesMax |= Math.abs(codes[i]) == max;
        assertEquals(codes[i] * s, deq[i], 0f, "dequantized = code · scale");
        assertTrue(Math.abs(wv[i] - deq[i]) <= s / 2 * (1 + 1e-5f) + 1e-12f,
            "element " + i + ": |" + wv[i] + " - " + deq[i] + "| > scale/2 = " + s / 2);
      }
      assertTrue(reachesMax, "each group's largest weight maps to the largest code");
      assertEquals(0f, scales[(int) (2 * groups)], "zero row has scale 0");
    }
  }

  @Test
  void fakeQuant_handCheckedInt4Row() {
    try (NDManager m = manager.newSubManager()) {
      NDArray w = m.create(new float[] {0.7f, -0.35f, 0.1f, 0.0f}, new Shape(1, 4));
      FakeQuant.Quantized z = new FakeQuant(4, 0).quantize(w);
      assertArrayEquals(new float[] {0.1f}, z.scales().toFloatArray(), 1e-7f);
      assertArrayEquals(new float[] {7, -4, 1, 0}, z.codes().toFloatArray()); // -3.5 rounds to even
    }
  }

  @ParameterizedTest(name = "int{0}, group {1}")
  @CsvSource({"8,0", "4,4"})
  void alphaZero_reproducesTeacherLogitsExactly_andAlphaOneQuantizes(int bits, int groupSize) {
    LlamaConfig cfg = LlamaConfig.tiny(71);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 9);
        RetrofitStudent student = all(bits, groupSize).build(cfg, teacher.namedParameters(), m)) {
      NDArray x = ids(m, 71);
      float[] want = teacher.forward(x).toFloatArray();
      assertArrayEquals(want, student.model().forward(x).toFloatArray(), "alpha = 0 is bit-identical");
      student.setAllAlphas(1.0);
      float[] quantized = student.model().forward(x).toFloatArray();
      float d = 0;
      for (int i = 0; i < want.length; i++) {
        d = Math.max(d, Math.abs(want[i] - quantized[i]));
      }
      assertTrue(d > 1e-5, "alpha = 1 computes with quantized weights (max diff " + d + ")");
      // The export at alpha = 1 is what the student computes: a plain model of the exported tensors agrees.
      Map<String, NDArray> exported = student.exportTensors();
      try (LlamaModel plain = LlamaModel.fromTensors(cfg, m, dup(exported))) {
        assertArrayEquals(quantized, plain.forward(x).toFloatArray(), 1e-5f);
      }
      NDArray q0 = exported.get("model.layers.0.mlp.down_proj.weight");
      NDArray w0 = student.parameters().get("model.layers.0.mlp.down_proj.weight");
      assertArrayEquals(all(bits, groupSize).quant().apply(w0, m).toFloatArray(), q0.toFloatArray(), 0f);
      assertArrayEquals(student.parameters().get("model.embed_tokens.weight").toFloatArray(),
          exported.get("model.embed_tokens.weight").toFloatArray(), 0f, "embeddings are not quantized");
    }
  }

  private static Map<String, NDArray> dup(Map<String, NDArray> m) {
    Map<String, NDArray> out = new java.util.LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, v.duplicate()));
    return out;
  }

  @Test
  void decoding_goesThroughTheQuantizedLinears() {
    LlamaConfig cfg = LlamaConfig.tiny(71);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 4);
        RetrofitStudent student = all(4, 4).build(cfg, teacher.namedParameters(), m)) {
      student.setAlphas(new double[] {1.0, 0.5});
      NDArray x = ids(m, 71);
      float[] full = student.model().forward(x).toFloatArray();
      try (DecodeState state = student.model().newDecodeState(2, 16, m); NDManager call = m.newSubManager()) {
        float[] got = student.model().decode(state, new int[] {0, 1}, x.duplicate(), new int[] {9, 9})
            .toFloatArray();
        assertArrayEquals(full, got, 2e-4f);
      }
    }
  }

  @Test
  void modelSpec_rebuildsTheStudentAsASamplerDoes_andDecodesWhatItComputes() {
    LlamaConfig cfg = LlamaConfig.tiny(71);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 6);
        RetrofitStudent student = new QuantRetrofit(8, Granularity.PER_CHANNEL, 0, List.of("o_proj", "up_proj"))
            .build(cfg, teacher.namedParameters(), m)) {
      student.setAlphas(new double[] {0.25, 1.0});
      ModelSpec wire = ModelSpec.of(cfg, student.spec().retrofitJson(), student.alphas());
      assertEquals(student.spec(), wire);
      NDArray x = ids(m, 71);
      float[] want = student.model().forward(x).toFloatArray();
      try (LlamaModel rebuilt = wire.build(dup(student.state()), m);
          DecodeState state = rebuilt.newDecodeState(2, 16, m)) {
        assertArrayEquals(want, rebuilt.forward(x).toFloatArray(), 0f);
        assertArrayEquals(want, rebuilt.decode(state, new int[] {0, 1}, x.duplicate(), new int[] {9, 9})
            .toFloatArray(), 2e-4f);
      }
    }
  }

  @Test
  void straightThroughGradient_equalsTheIdentitys() {
    try (NDManager m = manager.newSubManager()) {
      QuantLayer unit = new QuantLayer(new FakeQuant(4, 0));
      unit.setAlpha(0.7);
      NDArray w = m.randomNormal(new Shape(5, 8));
      NDArray c = m.randomNormal(new Shape(5, 8));
      w.setRequiresGradient(true);
      try (NDManager step = m.newSubManager(); GradientCollector gc = step.getEngine().newGradientCollector()) {
        NDArray blended = unit.transform().apply(w, step);
        float[] a = w.stopGradient().toFloatArray();
        float[] q = new FakeQuant(4, 0).apply(w.stopGradient(), step).toFloatArray();
        float[] b = blended.toFloatArray();
        for (int i = 0; i < a.length; i++) {
          assertEquals((float) (0.3 * a[i] + 0.7 * q[i]), b[i], 1e-6f, "value is the blend");
        }
        gc.backward(blended.mul(c).sum());
      }
      assertArrayEquals(c.toFloatArray(), w.getGradient().toFloatArray(), 0f, "d/dW is the identity's");
    }
  }

  @Test
  void spec_roundTrips() {
    QuantRetrofit r = new QuantRetrofit(4, Granularity.PER_GROUP, 32, List.of("q_proj", "down_proj"));
    assertEquals(r, Retrofits.fromJson(Retrofits.toJson(r)));
    assertEquals("{\"type\":\"quant\",\"bits\":4,\"granularity\":\"per_group\",\"group_size\":32,"
        + "\"linears\":[\"q_proj\",\"down_proj\"]}", Retrofits.toJson(r));
    assertEquals("int4g32", r.tag());
    assertEquals(all(8, 0), Retrofits.fromSpec(all(8, 0).spec()));
    LlamaConfig cfg = LlamaConfig.tiny(50);
    assertEquals(cfg.tensorShapes(), all(4, 4).stateShapes(cfg));
  }

  @Test
  void impossibleRequests_areRefusedWithTheirValues() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> new QuantRetrofit(3, Granularity.PER_CHANNEL, 0, QuantRetrofit.PROJECTIONS));
    assertEquals("quant retrofit: bits (3) must be 8 or 4", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new QuantRetrofit(4, Granularity.PER_GROUP, 0, QuantRetrofit.PROJECTIONS));
    assertEquals("quant retrofit: group_size (0) must be >= 1 per group", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Granularity.parse("per_tensor"));
    assertEquals("granularity 'per_tensor' is not known; use per_channel or per_group", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new QuantRetrofit(8, Granularity.PER_CHANNEL, 0, List.of("lm_head")));
    assertEquals("quant retrofit: linear 'lm_head' is not known; use some of [q_proj, k_proj, v_proj, o_proj,"
        + " gate_proj, up_proj, down_proj]", e.getMessage());
    // tiny: hidden 64, intermediate 172; 32 divides 64 but not 172 (down_proj's input)
    e = assertThrows(IllegalArgumentException.class, () -> all(4, 32).targetConfig(LlamaConfig.tiny(50)));
    assertEquals("quant retrofit: group_size (32) does not divide the input width of down_proj (172)",
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Retrofits.fromJson(
        "{\"type\":\"quant\",\"bits\":8,\"granularity\":\"per_channel\",\"group_size\":0}"));
    assertTrue(e.getMessage().contains("missing [linears]"), e.getMessage());
  }

  @ParameterizedTest(name = "int{0}, group {1}")
  @CsvSource({"8,0", "4,0", "8,4", "4,4"})
  void export_sideFilesDequantizeToTheExportedWeightsExactly(int bits, int groupSize, @TempDir Path dir)
      throws Exception {
    LlamaConfig cfg = LlamaConfig.tiny(41);
    QuantRetrofit r = all(bits, groupSize);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 2);
        RetrofitStudent student = r.build(cfg, teacher.namedParameters(), m)) {
      student.setAllAlphas(1.0);
      Map<String, NDArray> exported = student.exportTensors();
      HfCheckpoint.save(dir, student.targetConfig(), exported, Dtype.F32, ShardedWriter.DEFAULT_MAX_SHARD_BYTES);
      QuantExport.write(dir, r, cfg, student.parameters());
      Map<String, QuantExport.Weight> back = QuantExport.read(dir);
      assertEquals(r.quantizedTensors(cfg), List.copyOf(back.keySet()));
      assertEquals(2 * 7, back.size());
      HfCheckpoint saved = HfCheckpoint.load(dir, m);
      for (var e : back.entrySet()) {
        NDArray hf = saved.tensors().get(e.getKey());
        assertEquals(new Shape(e.getValue().out(), e.getValue().in()), hf.getShape());
        assertArrayEquals(hf.toFloatArray(), e.getValue().values(), 0f, e.getKey());
      }
      try (SafetensorsReader reader = SafetensorsReader.open(dir.resolve(QuantExport.TENSORS_FILE))) {
        String q = "model.layers.1.mlp.down_proj.weight.qweight";
        assertEquals(bits == 8 ? Dtype.I8 : Dtype.U8, reader.info(q).dtype());
        assertEquals(bits == 8 ? List.of(64L, 172L) : List.of(64L, 86L), reader.info(q).shape());
        assertEquals(List.of(64L, groupSize == 0 ? 1L : 172L / groupSize),
            reader.info("model.layers.1.mlp.down_proj.weight.scales").shape());
      }
      var desc = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
          dir.resolve(QuantExport.DESCRIPTION_FILE).toFile());
      assertEquals(bits, desc.path("bits").asInt());
      assertEquals(groupSize == 0 ? "per_channel" : "per_group", desc.path("granularity").asText());
    }
  }

  @Test
  void int4Packing_evenColumnLowNibble_twosComplement() {
    byte[] packed = QuantExport.packInt4(new float[] {-7, 3, 7, -1, 5}, 1, 5);
    assertArrayEquals(new byte[] {(byte) 0x39, (byte) 0xF7, (byte) 0x05}, packed);
  }
}
