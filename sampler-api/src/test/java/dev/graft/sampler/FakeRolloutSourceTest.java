package dev.graft.sampler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class FakeRolloutSourceTest {

  private static SamplingParams params(int maxNew, long seed, int... stops) {
    return new SamplingParams(1f, 1f, 0, maxNew, stops, seed);
  }

  @Test
  void completions_areDeterministic_perSeedAndPrompt_andCarryTheVersion() {
    FakeRolloutSource fake = new FakeRolloutSource(50, 32, 4);
    fake.setPolicyVersion(12);
    List<int[]> prompts = List.of(new int[] {1, 2}, new int[] {3});
    List<Rollout> a = fake.generate(prompts, params(6, 9));
    List<Rollout> b = new FakeRolloutSource(50, 32, 4).generate(prompts, params(6, 9));
    assertEquals(2, a.size());
    assertArrayEquals(a.get(0).tokens(), b.get(0).tokens());
    assertEquals(6, a.get(1).tokens().length);
    assertEquals(Rollout.Finish.MAX_NEW_TOKENS, a.get(0).finish());
    assertEquals(12, a.get(0).policyVersion());
    assertEquals(0, b.get(0).policyVersion());
    assertTrue(a.stream().allMatch(r -> java.util.Arrays.stream(r.tokens()).allMatch(t -> t >= 0 && t < 50)));
    assertEquals(1, fake.calls());
    assertEquals(12, fake.generatedTokens());
  }

  @Test
  void contextAndStopTokens_endRolloutsAsASamplerWould() {
    FakeRolloutSource fake = new FakeRolloutSource(3, 6, 1);
    Rollout full = fake.generate(List.of(new int[] {0, 1, 2, 0}), params(10, 1)).get(0);
    assertEquals(2, full.tokens().length);
    assertEquals(Rollout.Finish.CONTEXT_FULL, full.finish());
    Rollout stopped = fake.generate(List.of(new int[] {1}), params(5, 1, 0, 1, 2)).get(0);
    assertEquals(1, stopped.tokens().length, "every id is a stop token");
    assertEquals(Rollout.Finish.STOP_TOKEN, stopped.finish());
  }

  @Test
  void badRequests_areRefusedLikeASamplersAndClosedIsUnavailable() {
    FakeRolloutSource fake = new FakeRolloutSource(10, 8, 1);
    assertEquals("prompt 0 holds id 10, outside the vocabulary [0, 10)", assertThrows(IllegalArgumentException.class,
        () -> fake.generate(List.of(new int[] {10}), params(2, 1))).getMessage());
    assertThrows(IllegalArgumentException.class, () -> fake.generate(List.of(new int[0]), params(2, 1)));
    assertThrows(IllegalArgumentException.class, () -> fake.generate(List.of(new int[8]), params(2, 1)));
    fake.close();
    assertThrows(SamplerUnavailableException.class, () -> fake.generate(List.of(new int[] {1}), params(2, 1)));
  }
}
