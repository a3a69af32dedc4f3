package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.data.TokenBatch;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.RolloutSource;
import dev.graft.sampler.SamplerInfo;
import dev.graft.sampler.SamplingParams;
import dev.graft.trainer.data.Batch;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class OnPolicyDataTest {

  /** Completes each prompt with 3 tokens (100 + prompt index), stamped with a scripted version. */
  private static final class Scripted implements RolloutSource {
    final List<Long> versions;
    final AtomicInteger calls = new AtomicInteger();

    Scripted(List<Long> versions) {
      this.versions = versions;
    }

    @Override
    public SamplerInfo info() {
      return new SamplerInfo(200, 64, versions.get(0));
    }

    @Override
    public List<Rollout> generate(List<int[]> prompts, SamplingParams params) {
      long v = versions.get(Math.min(calls.getAndIncrement(), versions.size() - 1));
      List<Rollout> out = new ArrayList<>();
      for (int i = 0; i < prompts.size(); i++) {
        out.add(new Rollout(prompts.get(i), new int[] {100 + i, 110 + i, 120 + i}, new float[] {-1, -1, -1}, v,
            Rollout.Finish.MAX_NEW_TOKENS));
      }
      return out;
    }

    @Override
    public void close() {}
  }

  private static RunPlan.OnPolicy cfg(double fraction, long lag) {
    return RunPlan.of(RunConfig.load(null, List.of("onpolicy.fraction=" + fraction, "onpolicy.prompt_tokens=2",
        "onpolicy.max_new_tokens=3", "onpolicy.max_policy_lag=" + lag, "train.batch_size=4",
        "train.micro_batch=4"))).onpolicy();
  }

  private static Batch corpusBatch(int rows, int t) {
    int[] in = new int[rows * t];
    int[] tg = new int[rows * t];
    float[] mask = new float[rows * t];
    for (int i = 0; i < in.length; i++) {
      in[i] = 10 + i;
      tg[i] = 11 + i;
      mask[i] = 1;
    }
    return new Batch(new TokenBatch(rows, t, in), new TokenBatch(rows, t, tg), mask);
  }

  @Test
  void complete_replacesTheLastRows_withPromptPlusCompletion_maskedOnCompletionPredictions() {
    OnPolicyData d = new OnPolicyData(cfg(0.5, 0), new Scripted(List.of(7L)), 1, () -> 7);
    OnPolicyData.Result r = d.complete(corpusBatch(4, 6), 3);
    Batch b = r.batch();
    assertEquals(2, r.rolloutRows());
    assertEquals(7, r.minVersion());
    // Rows 0 and 1 are untouched corpus rows.
    assertArrayEquals(java.util.Arrays.copyOf(corpusBatch(4, 6).inputs().ids(), 12), java.util.Arrays.copyOf(b.inputs().ids(), 12));
    // Row 2: prompt = its first two corpus tokens (22, 23), completion 100, 110, 120.
    assertArrayEquals(new int[] {22, 23, 100, 110, 1, 1}, java.util.Arrays.copyOfRange(b.inputs().ids(), 12, 18));
    assertArrayEquals(new int[] {23, 100, 110, 120, 1, 1}, java.util.Arrays.copyOfRange(b.targets().ids(), 12, 18));
    assertArrayEquals(new float[] {0, 1, 1, 1, 0, 0}, java.util.Arrays.copyOfRange(b.mask(), 12, 18));
    assertEquals(12 + 3 + 3, b.tokens(), "two corpus rows of 6 plus three completion positions per rollout row");
    assertEquals(6, d.generatedTokens());
  }

  @Test
  void staleRollouts_areDroppedCountedAndRegenerated() {
    AtomicLong current = new AtomicLong(50);
    Scripted samplers = new Scripted(List.of(10L, 45L));
    OnPolicyData d = new OnPolicyData(cfg(0.25, 10), samplers, 1, current::get);
    OnPolicyData.Result r = d.complete(corpusBatch(4, 6), 1);
    assertEquals(45, r.minVersion(), "the retry's fresh rollout is used");
    assertEquals(1, d.staleDropped(), "one stale rollout (version 10 < 50 - 10) was dropped");
    assertEquals(2, samplers.calls.get());
  }

  @Test
  void samplersThatNeverCatchUp_failTheStepWithAnExplanation() {
    OnPolicyData d = new OnPolicyData(cfg(0.5, 0), new Scripted(List.of(3L)), 1, () -> 4);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.complete(corpusBatch(4, 6), 1));
    assertTrue(e.getMessage().contains("older than 4"), e.getMessage());
    assertEquals(2L * OnPolicyData.MAX_ATTEMPTS, d.staleDropped());
  }

  @Test
  void onPolicyConfig_thatCannotFit_isRefused() {
    RunConfig c = RunConfig.load(null, List.of("onpolicy.fraction=0.5", "onpolicy.prompt_tokens=100",
        "onpolicy.max_new_tokens=40"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunPlan.of(c));
    assertTrue(e.getMessage().contains("must fit in data.seq_len (128)"), e.getMessage());
  }
}
