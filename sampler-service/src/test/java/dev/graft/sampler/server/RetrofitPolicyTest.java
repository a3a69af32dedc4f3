package dev.graft.sampler.server;

import static dev.graft.sampler.server.TestPolicies.prompts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.retrofit.GqaMixer;
import dev.graft.retrofit.GqaRetrofit;
import dev.graft.retrofit.KvInit;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.sampler.SamplingParams;
import dev.graft.sync.PolicyUpdate;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The sampler serves a student under retrofit as it is, at any α: the policy update carries the
 * retrofit's spec, αs and state, the holder rebuilds the same mixers, and the engine decodes them
 * through the model's own decode path, with the rollouts of a full recompute of the student.
 */
class RetrofitPolicyTest {

  @ParameterizedTest(name = "alphas {0}/{1}")
  @CsvSource({"0,0", "0.3,0.8", "1,1"})
  void studentAtAnyAlpha_isServedDirectly_andGeneratesItsOwnRollouts(double a0, double a1) {
    LlamaConfig cfg = TestPolicies.CONFIG;
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 5);
        RetrofitStudent student = new GqaRetrofit(2, KvInit.MEAN_POOL, 3).build(cfg, teacher.namedParameters(), m);
        PolicyHolder holder = new PolicyHolder()) {
      student.setAlphas(new double[] {a0, a1});
      holder.install(new PolicyUpdate(7, student.spec(), TestPolicies.peaked(student.state())));
      try (PolicyHolder.Policy p = holder.acquire()) {
        assertTrue(p.model().layers().get(0).mixer() instanceof GqaMixer, "served as the student's own mixer");
        assertEquals(a1, ((GqaMixer) p.model().layers().get(1).mixer()).alpha());
      }
      List<int[]> prompts = prompts(2, 4, 9, 1);
      SamplingParams params = new SamplingParams(0.8f, 1f, 0, 20, new int[0], 17);
      TestPolicies.assertServedAsReference(holder, prompts, params);
    }
  }
}
