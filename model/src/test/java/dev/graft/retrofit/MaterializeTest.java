package dev.graft.retrofit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A student materialised at any αs is a plain Llama model computing the student's function. */
class MaterializeTest {

  @ParameterizedTest(name = "teacher kv={0} -> student kv={1} ({2}), alphas {3}/{4}")
  @CsvSource({"4,2,MEAN_POOL,0,0", "4,2,RANDOM,0.3,1", "4,1,KEEP_ONE,1,0.6", "4,2,MEAN_POOL,1,1",
      "1,2,DUPLICATE,0.5,0.25", "1,2,RANDOM,1,1"})
  void materialized_equalsTheStudent(int teacherKv, int studentKv, KvInit init, double a0, double a1) {
    LlamaConfig cfg = LlamaConfig.tiny(61).withNumKeyValueHeads(teacherKv);
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 4);
        RetrofitStudent student = new GqaRetrofit(studentKv, init, 2).build(cfg, teacher.namedParameters(), m)) {
      student.setAlphas(new double[] {a0, a1});
      RetrofitStudent.Materialized mat = student.materialize(m);
      boolean done = a0 == 1 && a1 == 1;
      assertEquals(done ? studentKv : cfg.numAttentionHeads(), mat.config().numKeyValueHeads());
      long[] ids = new long[2 * 9];
      Random rng = new Random(8);
      for (int i = 0; i < ids.length; i++) {
        ids[i] = rng.nextInt(61);
      }
      NDArray x = m.create(ids, new Shape(2, 9));
      float[] want = student.model().forward(x).toFloatArray();
      try (LlamaModel plain = LlamaModel.fromTensors(mat.config(), m, mat.tensors())) {
        float[] got = plain.forward(x).toFloatArray();
        float worst = 0;
        for (int i = 0; i < want.length; i++) {
          worst = Math.max(worst, Math.abs(want[i] - got[i]));
        }
        assertTrue(worst < 1e-5, "max |logit difference| " + worst);
      }
    }
  }
}
