package dev.graft.sampler.server;

import static dev.graft.sampler.server.TestPolicies.prompts;
import static dev.graft.sampler.server.TestPolicies.sampling;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplingParams;
import dev.graft.sampler.TokenSampler;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** KV-cached, continuously batched generation against the no-cache reference. */
class GenerationEngineTest {

  private final PolicyHolder holder = TestPolicies.holder(1, 7);
  private final List<AutoCloseable> resources = new ArrayList<>();

  private GenerationEngine engine(int slots) {
    GenerationEngine e = new GenerationEngine(holder, new GenerationEngine.Options(slots, 64, 200));
    resources.add(e);
    return e;
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
    holder.close();
  }

  private List<Rollout> reference(List<int[]> prompts, SamplingParams params) {
    try (PolicyHolder.Policy p = holder.acquire()) {
      return ReferenceGenerator.generate(p.model(), p.version(), prompts, params);
    }
  }

  static void assertSameRollout(Rollout expected, Rollout actual, String what) {
    assertArrayEquals(expected.tokens(), actual.tokens(), what + ": tokens");
    assertEquals(expected.tokens().length, actual.logProbs().length, what + ": log-prob count");
    for (int i = 0; i < expected.logProbs().length; i++) {
      assertEquals(expected.logProbs()[i], actual.logProbs()[i], 1e-4, what + ": log-prob " + i);
    }
    assertEquals(expected.finish(), actual.finish(), what + ": finish");
    assertEquals(expected.policyVersion(), actual.policyVersion(), what + ": version");
  }

  @Test
  void generate_withKvCache_matchesFullRecompute_forFixedSeed() {
    List<int[]> prompts = prompts(3, 5, 1, 17, 9);
    for (SamplingParams params : List.of(sampling(1f, 1f, 0, 24, 11),
        sampling(0.7f, 0.9f, 8, 24, 12))) {
      List<Rollout> cached = engine(2).generate(prompts, params);
      List<Rollout> recomputed = reference(prompts, params);
      for (int i = 0; i < prompts.size(); i++) {
        assertSameRollout(recomputed.get(i), cached.get(i), "prompt " + i + " " + params);
        assertEquals(24, cached.get(i).tokens().length);
      }
    }
  }

  @Test
  void temperatureZero_isArgmaxOfFullForward_stepByStep() {
    int[] prompt = prompts(4, 6).get(0);
    Rollout r = engine(2).generate(List.of(prompt), sampling(0f, 1f, 0, 12, 0)).get(0);
    try (PolicyHolder.Policy p = holder.acquire(); NDManager m = NDManager.newBaseManager()) {
      int[] seq = prompt;
      for (int step = 0; step < r.tokens().length; step++) {
        long[] ids = Arrays.stream(seq).asLongStream().toArray();
        NDArray logits = p.model().forward(m.create(ids, new Shape(1, seq.length))); // (1, T, V)
        float[] flat = logits.toFloatArray();
        int v = TestPolicies.CONFIG.vocabSize();
        float[] last = Arrays.copyOfRange(flat, (seq.length - 1) * v, seq.length * v);
        assertEquals(TokenSampler.argmax(last), r.tokens()[step], "step " + step);
        assertEquals(TokenSampler.logProb(last, r.tokens()[step]), r.logProbs()[step], 1e-4);
        seq = Arrays.copyOf(seq, seq.length + 1);
        seq[seq.length - 1] = r.tokens()[step];
      }
    }
  }

  @Test
  void continuousBatching_givesEachRequestTheRolloutItGetsAlone() {
    GenerationEngine batched = engine(3);
    List<List<int[]>> prompts = List.of(prompts(20, 3, 11), prompts(21, 7), prompts(22, 2, 30, 5),
        prompts(23, 14));
    List<SamplingParams> params = List.of(sampling(1f, 1f, 0, 9, 1), sampling(0f, 1f, 0, 25, 2),
        sampling(0.8f, 0.95f, 0, 4, 3), sampling(1.2f, 1f, 5, 17, 4));
    batched.pause();
    List<GenerationJob> jobs = new ArrayList<>();
    for (int j = 0; j < prompts.size(); j++) {
      jobs.add(batched.submit(prompts.get(j), params.get(j)));
    }
    batched.resume();
    GenerationEngine alone = engine(1);
    for (int j = 0; j < prompts.size(); j++) {
      List<Rollout> together = jobs.get(j).result().join();
      for (int i = 0; i < prompts.get(j).size(); i++) {
        Rollout single = alone.generate(List.of(prompts.get(j).get(i)),
            params.get(j).withSeed(params.get(j).seed() + i)).get(0);
        assertSameRollout(single, together.get(i), "job " + j + " prompt " + i);
      }
    }
  }

  @Test
  void freedSlot_isReusedByQueuedPrompt_beforeTheLongestFinishes() {
    GenerationEngine e = engine(2);
    List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    e.addListener(new GenerationEngine.Listener() {
      @Override
      public void onAdmitted(long jobId, int index, int slot) {
        events.add("admit " + jobId + " slot " + slot);
      }

      @Override
      public void onFinished(long jobId, int index, Rollout rollout) {
        events.add("finish " + jobId);
      }
    });
    e.pause();
    GenerationJob longest = e.submit(prompts(1, 4), sampling(1f, 1f, 0, 40, 1));
    GenerationJob shortest = e.submit(prompts(2, 6), sampling(1f, 1f, 0, 2, 2));
    GenerationJob queued = e.submit(prompts(3, 3), sampling(1f, 1f, 0, 3, 3));
    e.resume();
    queued.result().join();
    longest.result().join();
    assertEquals(40, longest.result().join().get(0).tokens().length);
    int admitQueued = events.indexOf("admit " + queued.id() + " slot 1");
    assertTrue(admitQueued > events.indexOf("finish " + shortest.id()), events.toString());
    assertTrue(admitQueued < events.indexOf("finish " + longest.id()), events.toString());
    assertTrue(events.indexOf("finish " + queued.id()) < events.indexOf("finish " + longest.id()),
        events.toString());
  }

  @Test
  void sameSeed_givesSameRollout_andAnotherSeedDiffers() {
    GenerationEngine e = engine(2);
    List<int[]> p = prompts(9, 8);
    Rollout a = e.generate(p, sampling(1f, 1f, 0, 30, 42)).get(0);
    Rollout b = e.generate(p, sampling(1f, 1f, 0, 30, 42)).get(0);
    Rollout c = e.generate(p, sampling(1f, 1f, 0, 30, 43)).get(0);
    assertArrayEquals(a.tokens(), b.tokens());
    assertArrayEquals(a.logProbs(), b.logProbs());
    assertFalse(Arrays.equals(a.tokens(), c.tokens()));
  }

  @Test
  void promptNearTheContextEnd_stopsWithContextFull() {
    int context = TestPolicies.CONFIG.maxPositionEmbeddings();
    Rollout r = engine(2).generate(prompts(5, context - 5), sampling(1f, 1f, 0, 50, 1)).get(0);
    assertEquals(5, r.tokens().length);
    assertEquals(Rollout.Finish.CONTEXT_FULL, r.finish());
  }

  @Test
  void stopToken_endsTheRollout_includingIt() {
    GenerationEngine e = engine(2);
    List<int[]> p = prompts(6, 4);
    int[] free = e.generate(p, sampling(0f, 1f, 0, 30, 0)).get(0).tokens();
    int at = 2; // the first token from index 2 on that did not occur before it
    while (indexOf(free, free[at]) != at) {
      at++;
    }
    SamplingParams stop = new SamplingParams(0f, 1f, 0, 30, new int[] {free[at]}, 0);
    Rollout r = e.generate(p, stop).get(0);
    assertArrayEquals(Arrays.copyOf(free, at + 1), r.tokens());
    assertEquals(Rollout.Finish.STOP_TOKEN, r.finish());
  }

  private static int indexOf(int[] a, int v) {
    for (int i = 0; i < a.length; i++) {
      if (a[i] == v) {
        return i;
      }
    }
    return -1;
  }
}
