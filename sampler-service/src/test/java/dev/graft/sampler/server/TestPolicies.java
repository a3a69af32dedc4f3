package dev.graft.sampler.server;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplingParams;
import dev.graft.sync.PolicyUpdate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Tiny random policies for tests: vocab 64, context 128, peaked next-token distributions. */
final class TestPolicies {

  static final LlamaConfig CONFIG = LlamaConfig.tiny(64);

  private TestPolicies() {}

  /**
   * A random policy whose output head is scaled up, so next-token distributions are peaked like a
   * trained model's (logit std ≈ 4) rather than near-uniform.
   */
  static PolicyUpdate update(long version, long seed) {
    return update(version, seed, CONFIG);
  }

  static PolicyUpdate update(long version, long seed, LlamaConfig config) {
    Map<String, float[]> tensors;
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel model = LlamaModel.random(config, m, seed)) {
      tensors = peaked(model.namedParameters());
    }
    return new PolicyUpdate(version, config, tensors);
  }

  /** {@code tensors} as float arrays, the output head scaled up 25 × (peaked distributions). */
  static Map<String, float[]> peaked(Map<String, NDArray> tensors) {
    Map<String, float[]> out = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
      float[] v = e.getValue().toFloatArray();
      if (e.getKey().equals("lm_head.weight")) {
        for (int i = 0; i < v.length; i++) {
          v[i] *= 25;
        }
      }
      out.put(e.getKey(), v);
    }
    return out;
  }

  /**
   * Asserts that a generation engine over {@code holder} (2 slots) serves the rollouts a full
   * recompute of the current policy gives.
   */
  static void assertServedAsReference(PolicyHolder holder, List<int[]> prompts, SamplingParams params) {
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

  /** A holder serving {@link #update(long, long)} at {@code version}. */
  static PolicyHolder holder(long version, long seed) {
    PolicyHolder h = new PolicyHolder();
    h.install(update(version, seed));
    return h;
  }

  /** {@code n} prompts of the given lengths with ids drawn from {@code seed}. */
  static List<int[]> prompts(long seed, int... lengths) {
    Random rng = new Random(seed);
    List<int[]> out = new ArrayList<>();
    for (int len : lengths) {
      int[] p = new int[len];
      for (int i = 0; i < len; i++) {
        p[i] = rng.nextInt(CONFIG.vocabSize());
      }
      out.add(p);
    }
    return out;
  }

  static SamplingParams sampling(float temperature, float topP, int topK, int maxNew, long seed) {
    return new SamplingParams(temperature, topP, topK, maxNew, new int[0], seed);
  }
}
