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

  @Test
  void alphaOne_equalsTheExportedGqaCheckpoint(@TempDir Path dir) throws Exception {
    LlamaConfig cfg = LlamaConfig.tiny(61);
    try (NDManager m = manager.newSubManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 4);
        RetrofitStudent student = new GqaRetrofit(2, KvInit.MEAN_POOL, 1).build(cfg, teacher.namedParameters(), m)) {
      var e = assertThrows(IllegalStateException.class, student::exportTensors);
      assertTrue(e.getMessage().startsWith("cannot export the student: units [0, 1] have alpha < 1"), e.getMessage());
      student.setAllAlphas(1.0);
      HfCheckpoint.save(dir, student.targetConfig(), student.exportTensors(), Dtype.F32,
          ShardedWriter.DEFAULT_MAX_SHARD_BYTES);
      HfCheckpoint loaded = HfCheckpoint.load(dir, m);
      assertEquals(2, loaded.config().numKeyValueHeads());
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
      var e = assertThrows(IllegalArgumentException.class, () -> KvInit.parse("average"));
      assertEquals("unknown kv-head init 'average' (expected mean_pool, keep_one, duplicate or random)", e.getMessage());
    }
  }
}
