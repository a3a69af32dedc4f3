package dev.graft.retrofit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A student rebuilt from its spec and state (what weight sync ships) computes the student's function. */
class ModelSpecTest {

  @ParameterizedTest(name = "teacher kv={0} -> student kv={1} ({2}), alphas {3}/{4}")
  @CsvSource({"4,2,MEAN_POOL,0,0", "4,2,RANDOM,0.3,1", "4,1,KEEP_ONE,1,0.6", "4,2,MEAN_POOL,1,1",
      "1,2,DUPLICATE,0.5,0.25", "1,2,RANDOM,1,1"})
  void rebuiltFromSpecAndState_equalsTheStudent(int teacherKv, int studentKv, KvInit init, double a0, double a1) {
    LlamaConfig cfg = LlamaConfig.tiny(61).withNumKeyValueHeads(teacherKv);
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 4);
        RetrofitStudent student = new GqaRetrofit(studentKv, init, 2).build(cfg, teacher.namedParameters(), m)) {
      student.setAlphas(new double[] {a0, a1});
      ModelSpec spec = ModelSpec.of(cfg, student.spec().retrofitJson(), student.alphas()); // through its wire form
      assertEquals(student.spec(), spec);
      Map<String, NDArray> copies = new LinkedHashMap<>();
      student.state().forEach((n, a) -> copies.put(n, m.create(a.toFloatArray(), a.getShape())));
      assertEquals(spec.tensorShapes().keySet(), copies.keySet());
      NDArray x = ids(m);
      float[] want = student.model().forward(x).toFloatArray();
      try (LlamaModel rebuilt = spec.build(copies, m)) {
        float[] got = rebuilt.forward(x).toFloatArray();
        float worst = 0;
        for (int i = 0; i < want.length; i++) {
          worst = Math.max(worst, Math.abs(want[i] - got[i]));
        }
        assertEquals(0f, worst, "max |logit difference| " + worst);
      }
    }
  }

  @Test
  void plainSpec_buildsAPlainModel_andRefusesAlphas() {
    LlamaConfig cfg = LlamaConfig.tiny(61);
    ModelSpec plain = ModelSpec.plain(cfg);
    assertEquals("", plain.retrofitJson());
    assertEquals(cfg.tensorShapes(), plain.tensorShapes());
    assertEquals(plain, ModelSpec.of(cfg, "", new double[0]));
    var e = assertThrows(IllegalArgumentException.class, () -> ModelSpec.of(cfg, "", new double[] {0.5}));
    assertEquals("a plain model has no alphas, got [0.5]", e.getMessage());
  }

  @Test
  void badSpecs_areRefusedNamingTheProblem() {
    LlamaConfig cfg = LlamaConfig.tiny(61);
    assertEquals("unknown retrofit type 'mamba'; known: gqa, quant, window, hybrid", assertThrows(IllegalArgumentException.class,
        () -> ModelSpec.of(cfg, "{\"type\":\"mamba\"}", new double[0])).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> ModelSpec.of(cfg, "{\"type\":\"gqa\",\"kv_heads\":2,\"init\":\"mean_pool\"}", new double[0]))
        .getMessage().contains("missing [seed]"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelSpec.of(cfg, "[1,2]", new double[0]))
        .getMessage().startsWith("retrofit spec is not a JSON object"));
    assertEquals("alpha (1.5) must be in [0, 1]", assertThrows(IllegalArgumentException.class,
        () -> ModelSpec.retrofit(cfg, new GqaRetrofit(2, KvInit.MEAN_POOL, 1), new double[] {1.5, 0})).getMessage());
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 4);
        RetrofitStudent student = new GqaRetrofit(2, KvInit.MEAN_POOL, 2).build(cfg, teacher.namedParameters(), m)) {
      ModelSpec threeAlphas = ModelSpec.retrofit(cfg, student.retrofit(), new double[] {0, 0, 0});
      Map<String, NDArray> copies = new LinkedHashMap<>();
      student.state().forEach((n, a) -> copies.put(n, a.duplicate()));
      assertEquals("3 alphas for 2 units",
          assertThrows(IllegalArgumentException.class, () -> threeAlphas.build(copies, m)).getMessage());
      copies.remove("model.layers.1.self_attn.teacher_v_proj.weight");
      assertEquals("missing tensor(s): [model.layers.1.self_attn.teacher_v_proj.weight]",
          assertThrows(IllegalArgumentException.class, () -> student.spec().build(copies, m)).getMessage());
    }
  }

  private static NDArray ids(NDManager m) {
    long[] ids = new long[2 * 9];
    Random rng = new Random(8);
    for (int i = 0; i < ids.length; i++) {
      ids[i] = rng.nextInt(61);
    }
    return m.create(ids, new Shape(2, 9));
  }
}
