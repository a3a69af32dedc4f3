package dev.graft.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LlamaModelTest {

  private static NDManager manager;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  private static NDArray randomIds(NDManager m, int b, int t, int vocab, long seed) {
    Random rng = new Random(seed);
    long[] ids = new long[b * t];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = rng.nextInt(vocab);
    }
    return m.create(ids, new Shape(b, t));
  }

  @Test
  void namedParameters_useHuggingFaceNames() {
    LlamaConfig cfg = LlamaConfig.tiny(97).withNumKeyValueHeads(1);
    try (LlamaModel model = LlamaModel.random(cfg, manager, 1)) {
      Map<String, NDArray> params = model.namedParameters();
      assertEquals(cfg.tensorShapes().keySet(), params.keySet());
      assertEquals(new Shape(16, 64), params.get("model.layers.1.self_attn.k_proj.weight").getShape());
      long count = params.values().stream().mapToLong(p -> p.getShape().size()).sum();
      assertEquals(cfg.parameterCount(), count);
    }
  }

  @Test
  void forward_logitsHaveVocabShape_andSameSeedGivesSameLogits() {
    LlamaConfig cfg = LlamaConfig.tiny(97);
    try (NDManager m = manager.newSubManager();
        LlamaModel a = LlamaModel.random(cfg, m, 3);
        LlamaModel b = LlamaModel.random(cfg, m, 3)) {
      NDArray ids = randomIds(m, 2, 9, 97, 5);
      NDArray la = a.forward(ids);
      assertEquals(new Shape(2, 9, 97), la.getShape());
      assertArrayEquals(la.toFloatArray(), b.forward(ids).toFloatArray());
    }
  }

  @Test
  void hiddenReleasing_equalsHidden_andKeepsOnlyItsResult() {
    LlamaConfig cfg = LlamaConfig.tiny(97);
    try (NDManager m = manager.newSubManager();
        LlamaModel model = LlamaModel.random(cfg, m, 3)) {
      int weights = model.manager().getManagedArrays().size();
      try (NDManager pass = model.manager().newSubManager()) {
        NDArray ids = randomIds(pass, 2, 9, 97, 5);
        float[] kept = model.hidden(ids).toFloatArray();
        int afterHidden = pass.getManagedArrays().size();
        try (NDManager released = model.manager().newSubManager()) {
          NDArray ids2 = randomIds(released, 2, 9, 97, 5);
          NDArray h = model.hiddenReleasing(ids2);
          assertArrayEquals(kept, h.toFloatArray()); // same ops, same order: bit-identical
          // ids, the embedding's output is freed with the first layer: ids and the result remain
          assertEquals(List.of(ids2, h).size(), released.getManagedArrays().size(),
              "arrays left by the releasing pass: " + released.getManagedArrays().size()
                  + " (the keeping pass leaves " + afterHidden + ")");
          assertTrue(afterHidden > 10, "the keeping pass holds every layer's activations: " + afterHidden);
        }
      }
      assertEquals(weights, model.manager().getManagedArrays().size(), "nothing leaks into the model's manager");
    }
  }

  @ParameterizedTest(name = "kvHeads={0} tied={1}")
  @CsvSource({"4,false", "2,true", "1,false"})
  void forward_matchesADoublePrecisionReference_writtenFromTheEquations(int kvHeads, boolean tied) {
    LlamaConfig cfg = new LlamaConfig(97, 64, 172, 2, 4, kvHeads, 128, 1e-5, 10000.0, tied, 0, 1);
    int b = 2;
    int t = 9;
    Random rng = new Random(17);
    try (NDManager m = manager.newSubManager();
        LlamaModel init = LlamaModel.random(cfg, m, 3)) {
      // Norm weights start at one; random ones make the reference check that they are applied.
      Map<String, float[]> w = new LinkedHashMap<>();
      init.namedParameters().forEach((name, p) -> w.put(name, p.toFloatArray()));
      w.replaceAll((name, v) -> name.endsWith("norm.weight") ? aroundOne(rng, v.length) : v);
      Map<String, NDArray> tensors = new LinkedHashMap<>();
      w.forEach((name, v) -> tensors.put(name, m.create(v, init.namedParameters().get(name).getShape())));
      try (LlamaModel model = LlamaModel.fromTensors(cfg, m, tensors)) {
        NDArray ids = randomIds(m, b, t, 97, 5);
        float[] got = model.forward(ids).toFloatArray();
        long[] flat = ids.toLongArray();
        double maxErr = 0;
        double maxAbs = 0;
        for (int row = 0; row < b; row++) {
          double[][] want = ReferenceLlama.logits(cfg, w, Arrays.copyOfRange(flat, row * t, row * t + t));
          for (int i = 0; i < t; i++) {
            for (int v = 0; v < cfg.vocabSize(); v++) {
              double g = got[(row * t + i) * cfg.vocabSize() + v];
              maxErr = Math.max(maxErr, Math.abs(g - want[i][v]));
              maxAbs = Math.max(maxAbs, Math.abs(want[i][v]));
            }
          }
        }
        assertTrue(maxAbs > 0.1, "the logits must not be trivially small: " + maxAbs);
        assertTrue(maxErr < 1e-4 * Math.max(1, maxAbs), "max |model - reference| = " + maxErr
            + " for logits up to " + maxAbs);
      }
    }
  }

  private static float[] aroundOne(Random rng, int n) {
    float[] v = AttentionTest.gaussian(rng, n, 0.2);
    for (int i = 0; i < n; i++) {
      v[i] += 1;
    }
    return v;
  }

  @Test
  void decodeWithCache_equalsFullForward_positionByPosition() {
    LlamaConfig cfg = LlamaConfig.tiny(61).withNumKeyValueHeads(2);
    try (NDManager m = manager.newSubManager();
        LlamaModel model = LlamaModel.random(cfg, m, 11)) {
      int t = 12;
      NDArray ids = randomIds(m, 2, t, 61, 9);
      float[] full = model.forward(ids).toFloatArray();
      try (DecodeState state = model.newDecodeState(2, t, m)) {
        // Prefill 4 tokens at once, then one token at a time.
        int[] slots = {0, 1};
        NDArray prefix = model.decode(state, slots, ids.get(new NDIndex(":, 0:4")), new int[] {4, 4});
        NDList steps = new NDList(prefix);
        for (int i = 4; i < t; i++) {
          steps.add(model.decode(state, slots, ids.get(new NDIndex(":, {}:{}", i, i + 1)), new int[] {1, 1}));
        }
        assertEquals(t, state.length(0));
        assertEquals(t, state.length(1));
        float[] incremental = NDArrays.concat(steps, 1).toFloatArray();
        assertEquals(full.length, incremental.length);
        double maxErr = 0;
        for (int i = 0; i < full.length; i++) {
          maxErr = Math.max(maxErr, Math.abs(full[i] - incremental[i]));
        }
        assertTrue(maxErr < 1e-4, "max |cached - full| = " + maxErr);
      }
    }
  }

  @Test
  void gqa_equalsMhaWithRepeatedKeyValueHeads() {
    LlamaConfig gqaCfg = LlamaConfig.tiny(53).withNumKeyValueHeads(2);
    LlamaConfig mhaCfg = gqaCfg.withNumKeyValueHeads(gqaCfg.numAttentionHeads());
    try (NDManager m = manager.newSubManager();
        LlamaModel gqa = LlamaModel.random(gqaCfg, m, 21)) {
      Map<String, NDArray> t = new LinkedHashMap<>();
      gqa.namedParameters().forEach((name, p) -> {
        boolean kv = name.endsWith("k_proj.weight") || name.endsWith("v_proj.weight");
        t.put(name, kv ? repeatKv(p, gqaCfg) : p.duplicate());
      });
      try (LlamaModel mha = LlamaModel.fromTensors(mhaCfg, m, t)) {
        NDArray ids = randomIds(m, 2, 10, 53, 4);
        float[] a = gqa.forward(ids).toFloatArray();
        float[] b = mha.forward(ids).toFloatArray();
        for (int i = 0; i < a.length; i++) {
          assertEquals(a[i], b[i], 1e-5, "logit " + i);
        }
      }
    }
  }

  /** (kv·hd, D) → (heads·hd, D), each kv head repeated group times consecutively. */
  private static NDArray repeatKv(NDArray w, LlamaConfig cfg) {
    long d = w.getShape().get(1);
    return w.reshape(cfg.numKeyValueHeads(), 1, cfg.headDim(), d)
        .repeat(1, cfg.groupSize())
        .reshape((long) cfg.numAttentionHeads() * cfg.headDim(), d);
  }

  @Test
  void fromTensors_wrongShape_namesTensorAndBothShapes() {
    LlamaConfig cfg = LlamaConfig.tiny(40);
    try (NDManager m = manager.newSubManager()) {
      Map<String, NDArray> t = new LinkedHashMap<>();
      cfg.tensorShapes().forEach((n, s) -> t.put(n,
          m.zeros(new Shape(s.stream().mapToLong(Long::longValue).toArray()))));
      t.put("model.norm.weight", m.zeros(new Shape(63)));
      var e = assertThrows(IllegalArgumentException.class, () -> LlamaModel.fromTensors(cfg, m, t));
      assertEquals("tensor 'model.norm.weight' has shape (63) but the config expects (64)", e.getMessage());
      t.remove("model.norm.weight");
      e = assertThrows(IllegalArgumentException.class, () -> LlamaModel.fromTensors(cfg, m, t));
      assertEquals("missing tensor(s): [model.norm.weight]", e.getMessage());
    }
  }
}
