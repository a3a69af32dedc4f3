package dev.graft.sampler.server;

import static dev.graft.sampler.server.TestPolicies.prompts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.model.Attention;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.retrofit.HybridMixer;
import dev.graft.retrofit.HybridRetrofit;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.sampler.SamplingParams;
import dev.graft.sync.PolicyUpdate;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * On-policy rollouts of an attention / gated-linear-attention hybrid: the sampler rebuilds the
 * student from the policy update and decodes its converted layers with their recurrent state,
 * giving the rollouts of a full recompute.
 */
class HybridPolicyTest {

  @ParameterizedTest(name = "alpha {0}, state size {1}")
  @CsvSource({"1,0", "0.6,8", "0,4"})
  void hybridStudent_isServedWithItsRecurrentState_andGeneratesItsOwnRollouts(double alpha, int stateSize) {
    LlamaConfig cfg = TestPolicies.CONFIG;
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel teacher = LlamaModel.random(cfg, m, 5);
        RetrofitStudent student = new HybridRetrofit("1", stateSize, 4, List.of("mlp"))
            .build(cfg, teacher.namedParameters(), m);
        PolicyHolder holder = new PolicyHolder()) {
      student.setAllAlphas(alpha);
      holder.install(new PolicyUpdate(7, student.spec(), TestPolicies.peaked(student.state())));
      try (PolicyHolder.Policy p = holder.acquire()) {
        assertTrue(p.model().layers().get(0).mixer() instanceof HybridMixer, "served as the student's own mixer");
        assertEquals(alpha, ((HybridMixer) p.model().layers().get(0).mixer()).alpha());
        assertTrue(p.model().layers().get(1).mixer() instanceof Attention, "layer 1 keeps attention");
      }
      List<int[]> prompts = prompts(3, 4, 9, 1);
      SamplingParams params = new SamplingParams(0.8f, 1f, 0, 24, new int[0], 17);
      TestPolicies.assertServedAsReference(holder, prompts, params);
    }
  }
}
