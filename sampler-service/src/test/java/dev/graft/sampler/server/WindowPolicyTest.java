package dev.graft.sampler.server;

import static dev.graft.sampler.server.TestPolicies.prompts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.retrofit.WindowMixer;
import dev.graft.retrofit.WindowRetrofit;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplingParams;
import dev.graft.sync.PolicyUpdate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * On-policy rollouts of a sliding-window student: the sampler rebuilds the window mixers from the
 * policy update and decodes them with their bounded caches, giving the rollouts of a full
 * recompute under the windowed mask.
 */
class WindowPolicyTest {

  @ParameterizedTest(name = "alphas {0}/{1}")
  @CsvSource({"1,1", "0.9,1", "0,0.95"})
  void windowedStudent_isServedWithItsBoundedCache_andGeneratesItsOwnRollouts(double a0, double a1) {
    LlamaConfig cfg = TestPolicies.CONFIG;
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 5);
        RetrofitStudent student = new WindowRetrofit(3, 1, List.of()).build(cfg, teacher.namedParameters(), m);
        PolicyHolder holder = new PolicyHolder()) {
      student.setAlphas(new double[] {a0, a1});
      Map<String, float[]> state = new LinkedHashMap<>();
      for (Map.Entry<String, NDArray> e : student.state().entrySet()) {
        float[] v = e.getValue().toFloatArray();
        if (e.getKey().equals("lm_head.weight")) { // peaked distributions, as in TestPolicies
          for (int i = 0; i < v.length; i++) {
            v[i] *= 25;
          }
        }
        state.put(e.getKey(), v);
      }
      holder.install(new PolicyUpdate(7, student.spec(), state));
      try (PolicyHolder.Policy p = holder.acquire()) {
        assertTrue(p.model().layers().get(1).mixer() instanceof WindowMixer, "served as the student's own mixer");
        assertEquals(a1, ((WindowMixer) p.model().layers().get(1).mixer()).alpha());
      }
      List<int[]> prompts = prompts(3, 4, 9, 1);
      SamplingParams params = new SamplingParams(0.8f, 1f, 0, 24, new int[0], 17);
      List<Rollout> reference;
      try (PolicyHolder.Policy p = holder.acquire()) {
        reference = ReferenceGenerator.generate(p.model(), p.version(), prompts, params);
      }
      try (GenerationEngine engine = new GenerationEngine(holder, new GenerationEngine.Options(2, 16, 64))) {
        List<Rollout> served = engine.generate(prompts, params);
        for (int i = 0; i < prompts.size(); i++) {
          GenerationEngineTest.assertSameRollout(reference.get(i), served.get(i), "prompt " + i);
        }
      }
    }
  }
}
