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
import dev.graft.checkpoint.ShardedWriter;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.model.RopeScaling;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GqaRetrofitTest {

  private static NDManager manager;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  private static NDArray ids(NDManager m, int vocab) {
    Random rng = new Random(5);
    long[] a = new long[2 * 11];
    for (int i = 0; i < a.length; i++) {
      a[i] = rng.nextInt(vocab);
    }
    return m.create(a, new Shape(2, 11));
  }

  private static float maxDiff(float[] a, float[] b) {
    float d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }

  @ParameterizedTest(name = "teacher kv={0} -> student kv={1} ({2})")
  @CsvSource({"4,2,MEAN_POOL", "4,1,KEEP_ONE", "4,2,RANDOM", "2,1,MEAN_POOL", "1,2,DUPLICATE", "1,4,DUPLICATE"})
  void alphaZero_reproducesTeacherLogitsExactly(int teacherKv, int studentKv, KvInit init) {
    LlamaConfig cfg = LlamaConfig.tiny(71).withNumKeyValueHeads(teacherKv);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 9);
        RetrofitStudent student = new GqaRetrofit(studentKv, init, 1)
            .build(cfg, teacher.namedParameters(), m)) {
      NDArray x = ids(m, 71);
      float[] want = teacher.forward(x).toFloatArray();
      float[] got = student.model().forward(x).toFloatArray();
      assertArrayEquals(want, got, "alpha = 0 must be bit-identical to the teacher");
      student.setAllAlphas(1.0);
      if (init != KvInit.DUPLICATE) {
        assertTrue(maxDiff(want, student.model().forward(x).toFloatArray()) > 1e-4,
            "alpha = 1 changes the attention");
      }
    }
  }

  /** Attention and MLP biases, head_dim 24 ≠ 64/4, llama3 rope scaling. */
  private static LlamaConfig biased(int kvHeads) {
    return LlamaConfig.tiny(71).withHeadDim(24).withBiases(true, true).withNumKeyValueHeads(kvHeads)
        .withRopeScaling(new RopeScaling.Llama3(8, 1, 4, 32));
  }

  @ParameterizedTest(name = "teacher kv={0} -> student kv={1} ({2})")
  @CsvSource({"4,2,MEAN_POOL", "4,1,KEEP_ONE", "2,1,RANDOM", "1,2,DUPLICATE"})
  void alphaZero_reproducesABiasedWideHeadTeacherExactly(int teacherKv, int studentKv, KvInit init) {
    LlamaConfig cfg = biased(teacherKv);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 9);
        RetrofitStudent student = new GqaRetrofit(studentKv, init, 1)
            .build(cfg, teacher.namedParameters(), m)) {
      NDArray x = ids(m, 71);
      float[] want = teacher.forward(x).toFloatArray();
      assertArrayEquals(want, student.model().forward(x).toFloatArray(), "alpha = 0 must be bit-identical");
      var state = student.state();
      assertEquals(new Shape(teacherKv * 24), state.get("model.layers.1.self_attn.teacher_k_proj.bias").getShape());
      assertEquals(new Shape(studentKv * 24), state.get("model.layers.1.self_attn.k_proj.bias").getShape());
      assertEquals(student.retrofit().stateShapes(cfg).keySet(), state.keySet());
      student.setAllAlphas(0.5);
      if (init != KvInit.DUPLICATE) { // a duplicated head is the teacher's at every alpha
        assertTrue(maxDiff(want, student.model().forward(x).toFloatArray()) > 1e-4, "alpha = 0.5 changes the attention");
      }
    }
  }

  @Test
  void biases_arePooledLikeTheirWeights() {
    LlamaConfig cfg = biased(4);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 3);
        RetrofitStudent mean = new GqaRetrofit(2, KvInit.MEAN_POOL, 1).build(cfg, teacher.namedParameters(), m);
        RetrofitStudent random = new GqaRetrofit(2, KvInit.RANDOM, 1).build(cfg, teacher.namedParameters(), m)) {
      float[] tb = teacher.namedParameters().get("model.layers.0.self_attn.v_proj.bias").toFloatArray(); // (4·24)
      float[] sb = mean.parameters().get("model.layers.0.self_attn.v_proj.bias").toFloatArray(); // (2·24)
      for (int g = 0; g < 2; g++) {
        for (int c = 0; c < 24; c++) {
          float want = (tb[(2 * g) * 24 + c] + tb[(2 * g + 1) * 24 + c]) / 2;
          assertEquals(want, sb[g * 24 + c], 1e-7f, "group " + g + " channel " + c);
        }
      }
      float[] zero = random.parameters().get("model.layers.0.self_attn.k_proj.bias").toFloatArray();
      assertArrayEquals(new float[48], zero, "random init starts the biases at zero");
    }
  }

  @Test
  void meanPool_withAsManyKvHeadsAsTheTeacher_isIdentity() {
    LlamaConfig cfg = LlamaConfig.tiny(53);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 2);
        RetrofitStudent student = new GqaRetrofit(cfg.numAttentionHeads(), KvInit.MEAN_POOL, 1)
            .build(cfg, teacher.namedParameters(), m)) {
      student.setAllAlphas(1.0);
      NDArray x = ids(m, 53);
      assertArrayEquals(teacher.forward(x).toFloatArray(), student.model().forward(x).toFloatArray(), 1e-6f);
    }
  }

  @ParameterizedTest(name = "biased={0}")
  @CsvSource({"false", "true"})
  void alphaOne_equalsTheExportedGqaCheckpoint(boolean withBiases, @TempDir Path dir) throws Exception {
    LlamaConfig cfg = withBiases ? biased(4).withVocabSize(61) : LlamaConfig.tiny(61);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 4);
        RetrofitStudent student = new GqaRetrofit(2, KvInit.MEAN_POOL, 1).build(cfg, teacher.namedParameters(), m)) {
      var e = assertThrows(IllegalStateException.class, student::exportTensors);
      assertTrue(e.getMessage().startsWith("cannot export the student: units [0, 1] have alpha < 1"), e.getMessage());
      student.setAllAlphas(1.0);
      HfCheckpoint.save(dir, student.targetConfig(), student.exportTensors(), Dtype.F32,
          ShardedWriter.DEFAULT_MAX_SHARD_BYTES);
      HfCheckpoint loaded = HfCheckpoint.load(dir, m);
      assertEquals(cfg.withNumKeyValueHeads(2), loaded.config());
      try (LlamaModel gqa = LlamaModel.fromTensors(loaded.config(), m, loaded.tensors())) {
        NDArray x = ids(m, 61);
        assertEquals(0f, maxDiff(student.model().forward(x).toFloatArray(), gqa.forward(x).toFloatArray()), 1e-6f);
      }
    }
  }

  @Test
  void midPath_blendsWeights_andTrainsTheStudentHeadsOnly() {
    LlamaConfig cfg = LlamaConfig.tiny(37);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 8);
        RetrofitStudent student = new GqaRetrofit(1, KvInit.RANDOM, 3).build(cfg, teacher.namedParameters(), m)) {
      var params = student.parameters();
      NDArray k0 = params.get("model.layers.0.self_attn.k_proj.weight");
      assertEquals(new Shape(16, 64), k0.getShape());
      params.values().forEach(p -> p.setRequiresGradient(true));
      NDArray x = ids(m, 37);
      student.setAlphas(new double[] {0.0, 0.5});
      try (NDManager step = m.newSubManager(); GradientCollector gc = step.getEngine().newGradientCollector()) {
        gc.backward(student.model().forward(x).square().mean());
      }
      float g0 = params.get("model.layers.0.self_attn.k_proj.weight").getGradient().abs().sum().getFloat();
      float g1 = params.get("model.layers.1.self_attn.k_proj.weight").getGradient().abs().sum().getFloat();
      assertEquals(0f, g0, "at alpha = 0 the student's k_proj is not used");
      assertTrue(g1 > 0, "at alpha = 0.5 the student's k_proj receives gradient");
      params.values().forEach(p -> p.setRequiresGradient(false));
    }
  }

  @Test
  void targetConfig_kvHeadsNotDividingHeads_isExplained() {
    LlamaConfig cfg = LlamaConfig.small(100);
    var e = assertThrows(IllegalArgumentException.class, () -> new GqaRetrofit(3, KvInit.MEAN_POOL, 0).targetConfig(cfg));
    assertEquals("GQA retrofit: kv_heads (3) must divide the teacher's num_attention_heads (8)", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new GqaRetrofit(2, KvInit.DUPLICATE, 0).targetConfig(cfg));
    assertEquals("kv-head init duplicate needs the student's num_key_value_heads (2) to be a multiple of the teacher's (8)",
        e.getMessage());
  }

  @Test
  void init_strategies_onHandCheckedWeights() {
    try (NDManager m = manager.newSubManager()) {
      // 4 teacher heads of head size 1, model dim 2: rows are heads.
      NDArray w = m.create(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, new Shape(4, 2));
      Random rng = new Random(0);
      assertArrayEquals(new float[] {2, 3, 6, 7}, KvInit.MEAN_POOL.apply(w, 4, 2, 1, m, rng).toFloatArray());
      assertArrayEquals(new float[] {1, 2, 5, 6}, KvInit.KEEP_ONE.apply(w, 4, 2, 1, m, rng).toFloatArray());
      NDArray one = m.create(new float[] {1, 2}, new Shape(1, 2));
      assertArrayEquals(new float[] {1, 2, 1, 2, 1, 2}, KvInit.DUPLICATE.apply(one, 1, 3, 1, m, rng).toFloatArray());
      assertEquals(new Shape(2, 2), KvInit.RANDOM.apply(w, 4, 2, 1, m, rng).getShape());
      NDArray bias = m.create(new float[] {1, 2, 3, 4}); // 4 heads of size 1
      assertArrayEquals(new float[] {1.5f, 3.5f}, KvInit.MEAN_POOL.applyBias(bias, 4, 2, 1, m).toFloatArray());
      assertArrayEquals(new float[] {1, 3}, KvInit.KEEP_ONE.applyBias(bias, 4, 2, 1, m).toFloatArray());
      assertArrayEquals(new float[] {1, 1, 1}, KvInit.DUPLICATE.applyBias(m.create(new float[] {1}), 1, 3, 1, m)
          .toFloatArray());
      var e = assertThrows(IllegalArgumentException.class, () -> KvInit.parse("average"));
      assertEquals("unknown kv-head init 'average' (expected mean_pool, keep_one, duplicate or random)", e.getMessage());
    }
  }
}
