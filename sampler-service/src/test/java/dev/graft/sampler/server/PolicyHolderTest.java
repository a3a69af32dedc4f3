package dev.graft.sampler.server;

import static dev.graft.sampler.server.TestPolicies.prompts;
import static dev.graft.sampler.server.TestPolicies.sampling;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplingParams;
import dev.graft.sync.PolicyUpdate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Installing, rejecting and retiring policy versions while generation runs. */
class PolicyHolderTest {

  private final PolicyHolder holder = TestPolicies.holder(1, 7);
  private final GenerationEngine engine =
      new GenerationEngine(holder, new GenerationEngine.Options(2, 16, 64));
  private final List<int[]> prompt = prompts(1, 6);
  private final SamplingParams greedy = sampling(0f, 1f, 0, 12, 0);

  @AfterEach
  void close() {
    engine.close();
    holder.close();
  }

  private Rollout reference(PolicyUpdate update, int[] p, SamplingParams params) {
    try (PolicyHolder h = new PolicyHolder()) {
      h.install(update);
      try (PolicyHolder.Policy policy = h.acquire()) {
        return ReferenceGenerator.generate(policy.model(), update.version(), List.of(p), params).get(0);
      }
    }
  }

  @Test
  void install_swapsToTheNewVersionAndWeights() {
    Rollout before = engine.generate(prompt, greedy).get(0);
    holder.install(TestPolicies.update(2, 8));
    Rollout after = engine.generate(prompt, greedy).get(0);
    assertEquals(1, before.policyVersion());
    assertEquals(2, after.policyVersion());
    assertEquals(2, holder.currentVersion());
    assertArrayEquals(reference(TestPolicies.update(2, 8), prompt.get(0), greedy).tokens(), after.tokens());
  }

  @Test
  void olderOrEqualVersion_isRejected_andTheCurrentOneKeepsServing() {
    holder.install(TestPolicies.update(3, 8));
    var equal = assertThrows(IllegalArgumentException.class,
        () -> holder.install(TestPolicies.update(3, 9)));
    assertTrue(equal.getMessage().contains("not newer"), equal.getMessage());
    assertThrows(IllegalArgumentException.class, () -> holder.install(TestPolicies.update(2, 9)));
    assertEquals(3, holder.currentVersion());
    Rollout r = engine.generate(prompt, greedy).get(0);
    assertEquals(3, r.policyVersion());
    assertArrayEquals(reference(TestPolicies.update(3, 8), prompt.get(0), greedy).tokens(), r.tokens());
  }

  @Test
  void misshapenOrMissingTensor_isRejected_andTheOldVersionStillServes() {
    Rollout before = engine.generate(prompt, greedy).get(0);
    PolicyUpdate good = TestPolicies.update(2, 8);
    Map<String, float[]> wrong = new LinkedHashMap<>(good.tensors());
    wrong.put("model.layers.1.mlp.up_proj.weight", new float[10]);
    var shape = assertThrows(IllegalArgumentException.class,
        () -> holder.install(new PolicyUpdate(2, good.config(), wrong)));
    assertTrue(shape.getMessage().contains("model.layers.1.mlp.up_proj.weight"), shape.getMessage());
    Map<String, float[]> missing = new LinkedHashMap<>(good.tensors());
    missing.remove("model.norm.weight");
    var absent = assertThrows(IllegalArgumentException.class,
        () -> holder.install(new PolicyUpdate(2, good.config(), missing)));
    assertTrue(absent.getMessage().contains("model.norm.weight"), absent.getMessage());
    var vocab = assertThrows(IllegalArgumentException.class,
        () -> holder.install(TestPolicies.update(2, 8, TestPolicies.CONFIG.withVocabSize(80))));
    assertTrue(vocab.getMessage().contains("vocab_size"), vocab.getMessage());
    assertEquals(1, holder.currentVersion());
    Rollout after = engine.generate(prompt, greedy).get(0);
    assertEquals(1, after.policyVersion());
    assertArrayEquals(before.tokens(), after.tokens());
  }

  @Test
  void jobStartedOnOneVersion_finishesOnIt_laterJobsGetTheNewOne_andTheOldModelIsFreed() {
    PolicyUpdate v2 = TestPolicies.update(2, 8);
    PolicyHolder.Policy v1 = holder.acquire();
    List<int[]> three = prompts(2, 5, 9, 3);
    SamplingParams params = sampling(1f, 1f, 0, 10, 4);
    AtomicReference<GenerationJob> later = new AtomicReference<>();
    engine.addListener(new GenerationEngine.Listener() {
      @Override
      public void onStep(int activeSlots) {
        if (later.get() == null) { // mid-generation of the first job, its third prompt queued
          holder.install(v2);
          later.set(engine.submit(prompts(3, 4), params));
        }
      }
    });
    List<Rollout> first = engine.generate(three, params);
    Rollout second = later.get().result().join().get(0);
    for (int i = 0; i < 3; i++) {
      assertEquals(1, first.get(i).policyVersion(), "prompt " + i);
      Rollout ref = ReferenceGenerator.generate(v1.model(), 1, List.of(three.get(i)),
          params.withSeed(params.seed() + i)).get(0);
      assertArrayEquals(ref.tokens(), first.get(i).tokens(), "prompt " + i);
    }
    assertEquals(2, second.policyVersion());
    assertArrayEquals(reference(v2, prompts(3, 4).get(0), params).tokens(), second.tokens());
    assertFalse(v1.isFreed());
    v1.close(); // the engine let go of version 1 when it switched
    assertTrue(v1.isFreed());
  }
}
