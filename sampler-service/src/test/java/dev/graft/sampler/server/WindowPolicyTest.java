package dev.graft.sampler.server;

import static dev.graft.sampler.server.TestPolicies.prompts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.retrofit.WindowMixer;
import dev.graft.retrofit.WindowRetrofit;
import dev.graft.sampler.SamplingParams;
import dev.graft.sync.PolicyUpdate;
import java.util.List;
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
      holder.install(new PolicyUpdate(7, student.spec(), TestPolicies.peaked(student.state())));
      try (PolicyHolder.Policy p = holder.acquire()) {
        assertTrue(p.model().layers().get(1).mixer() instanceof WindowMixer, "served as the student's own mixer");
        assertEquals(a1, ((WindowMixer) p.model().layers().get(1).mixer()).alpha());
      }
      List<int[]> prompts = prompts(3, 4, 9, 1);
      SamplingParams params = new SamplingParams(0.8f, 1f, 0, 24, new int[0], 17);
      TestPolicies.assertServedAsReference(holder, prompts, params);
    }
  }
}
