package dev.graft.trainer.distill;

import dev.graft.data.TokenBatch;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.RolloutSource;
import dev.graft.sampler.SamplingParams;
import dev.graft.trainer.data.Batch;
import dev.graft.trainer.plan.RunPlan;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Turns the last rows of a corpus batch into on-policy rows: each row's first
 * {@code prompt_tokens} tokens are completed by the current student on a sampler, and the row
 * becomes prompt + completion with the loss mask on the positions that predict completion
 * tokens. Rollouts from a policy older than {@code current − max_policy_lag} are discarded,
 * counted, and generated again.
 */
final class OnPolicyData {

  /** Attempts to get fresh-enough rollouts before the step fails. */
  static final int MAX_ATTEMPTS = 5;

  /** A batch with on-policy rows and where its rollouts came from. */
  record Result(Batch batch, long minVersion, long maxVersion, int rolloutRows) {}

  private final RunPlan.OnPolicy cfg;
  private final RolloutSource samplers;
  private final int padId;
  private final LongSupplier currentVersion;
  private final AtomicLong staleDropped = new AtomicLong();
  private final AtomicLong generatedTokens = new AtomicLong();

  OnPolicyData(RunPlan.OnPolicy cfg, RolloutSource samplers, int padId, LongSupplier currentVersion) {
    this.cfg = cfg;
    this.samplers = samplers;
    this.padId = padId;
    this.currentVersion = currentVersion;
  }

  long staleDropped() {
    return staleDropped.get();
  }

  long generatedTokens() {
    return generatedTokens.get();
  }

  /** Replaces the last {@code onpolicy.rows} rows of {@code b} with completions, seeded by {@code step}. */
  Result complete(Batch b, long step) {
    int rows = cfg.rows();
    int from = b.batchSize() - rows;
    int t = b.seqLen();
    List<int[]> prompts = new ArrayList<>();
    for (int r = from; r < b.batchSize(); r++) {
      int[] p = new int[cfg.promptTokens()];
      for (int i = 0; i < p.length; i++) {
        p[i] = b.inputs().get(r, i);
      }
      prompts.add(p);
    }
    List<Rollout> rollouts = fresh(prompts, step);
    int[] in = b.inputs().ids().clone();
    int[] tg = b.targets().ids().clone();
    float[] mask = b.mask().clone();
    long minV = Long.MAX_VALUE;
    long maxV = Long.MIN_VALUE;
    for (int j = 0; j < rollouts.size(); j++) {
      Rollout ro = rollouts.get(j);
      minV = Math.min(minV, ro.policyVersion());
      maxV = Math.max(maxV, ro.policyVersion());
      fillRow(in, tg, mask, (from + j) * t, t, prompts.get(j), ro.tokens());
      generatedTokens.addAndGet(ro.tokens().length);
    }
    return new Result(new Batch(new TokenBatch(b.batchSize(), t, in), new TokenBatch(b.batchSize(), t, tg), mask),
        minV, maxV, rows);
  }

  private List<Rollout> fresh(List<int[]> prompts, long step) {
    SamplingParams params = new SamplingParams(cfg.temperature(), cfg.topP(), 0,
        cfg.maxNewTokens(), new int[0], step * 1_000_003L);
    for (int attempt = 1; ; attempt++) {
      List<Rollout> out = samplers.generate(prompts, params.withSeed(params.seed() + attempt * 7919L));
      long oldest = currentVersion.getAsLong() - cfg.maxPolicyLag();
      long stale = out.stream().filter(r -> r.policyVersion() < oldest).count();
      if (stale == 0) {
        return out;
      }
      staleDropped.addAndGet(stale);
      if (attempt == MAX_ATTEMPTS) {
        throw new IllegalStateException("samplers kept answering with policy versions older than "
            + oldest + " (current " + currentVersion.getAsLong() + ", onpolicy.max_policy_lag "
            + cfg.maxPolicyLag() + ") after " + MAX_ATTEMPTS + " attempts; are they receiving weights?");
      }
    }
  }

  /**
   * Row = prompt + completion, truncated to the row's T inputs; position i predicts token i + 1,
   * so the loss covers positions P − 1 … P + G − 2 (the predictions of completion tokens).
   */
  private void fillRow(int[] in, int[] tg, float[] mask, int at, int t, int[] prompt, int[] completion) {
    int[] seq = new int[prompt.length + completion.length];
    System.arraycopy(prompt, 0, seq, 0, prompt.length);
    System.arraycopy(completion, 0, seq, prompt.length, completion.length);
    Arrays.fill(in, at, at + t, padId);
    Arrays.fill(tg, at, at + t, padId);
    Arrays.fill(mask, at, at + t, 0f);
    for (int i = 0; i < Math.min(t, seq.length - 1); i++) {
      in[at + i] = seq[i];
      tg[at + i] = seq[i + 1];
      mask[at + i] = i >= prompt.length - 1 ? 1f : 0f;
    }
  }
}
