package dev.graft.sampler.server;

import static dev.graft.sampler.server.TestPolicies.prompts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.Attention;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.retrofit.QuantRetrofit;
import dev.graft.retrofit.QuantRetrofit.Granularity;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.sampler.SamplingParams;
import dev.graft.sync.PolicyUpdate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * On-policy rollouts of a quantization-aware student: the sampler rebuilds it from the policy
 * update with its fake-quantized weights at the update's α, so what it serves computes the
 * student's logits (not the teacher's) and its rollouts are those of a full recompute.
 */
class QuantPolicyTest {

  @ParameterizedTest(name = "int{0}, alpha {1}")
  @CsvSource({"4,1", "4,0.5", "8,1"})
  void quantStudent_isServedWithItsFakeQuantizedWeights_andGeneratesItsOwnRollouts(int bits, double alpha) {
    LlamaConfig cfg = TestPolicies.CONFIG;
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 5);
        RetrofitStudent student = new QuantRetrofit(bits, Granularity.PER_CHANNEL, 0, QuantRetrofit.PROJECTIONS)
            .build(cfg, teacher.namedParameters(), m);
        PolicyHolder holder = new PolicyHolder()) {
      student.setAllAlphas(alpha);
      holder.install(new PolicyUpdate(3, student.spec(), floats(student.state())));
      NDArray ids = m.create(new long[] {1, 7, 3, 9, 2, 11, 5, 4}, new Shape(1, 8));
      try (PolicyHolder.Policy p = holder.acquire()) {
        assertNotNull(((Attention) p.model().layers().get(0).mixer()).q().weightTransform(), "q_proj is fake-quantized");
        double served = maxAbsDiff(p.model().forward(ids), student.model().forward(ids));
        double fromTeacher = maxAbsDiff(p.model().forward(ids), teacher.forward(ids));
        assertEquals(0, served, 1e-5, "the served model computes the student's logits");
        assertTrue(fromTeacher > 1e-3, "int" + bits + " at alpha " + alpha + " differs from the teacher: "
            + fromTeacher);
      }
      List<int[]> prompts = prompts(3, 4, 9, 1);
      SamplingParams params = new SamplingParams(0.8f, 1f, 0, 24, new int[0], 17);
      TestPolicies.assertServedAsReference(holder, prompts, params);
    }
  }

  private static Map<String, float[]> floats(Map<String, NDArray> tensors) {
    Map<String, float[]> out = new LinkedHashMap<>();
    tensors.forEach((n, a) -> out.put(n, a.toFloatArray()));
    return out;
  }

  private static double maxAbsDiff(NDArray a, NDArray b) {
    return a.sub(b).abs().max().getFloat();
  }
}
