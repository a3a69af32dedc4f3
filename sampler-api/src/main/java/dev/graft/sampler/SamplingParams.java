package dev.graft.sampler;

import java.util.Arrays;

/**
 * How to sample a completion.
 *
 * @param temperature 0 = greedy (argmax); otherwise logits are divided by it; finite, &gt;= 0
 * @param topP nucleus: keep the smallest set of most likely tokens whose mass reaches topP;
 *     in (0, 1], 1 = off
 * @param topK keep the k most likely tokens; 0 = off
 * @param maxNewTokens tokens to generate at most; &gt;= 1
 * @param stopTokens generation ends after emitting any of these (the stop token is included)
 * @param seed the request's random seed; the same seed, prompt and weights give the same rollout
 */
public record SamplingParams(float temperature, float topP, int topK, int maxNewTokens,
    int[] stopTokens, long seed) {

  public SamplingParams {
    if (!(temperature >= 0) || Float.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k must be >= 0 (0 = off), got " + topK);
    }
    if (maxNewTokens < 1) {
      throw new IllegalArgumentException("max_new_tokens must be >= 1, got " + maxNewTokens);
    }
    stopTokens = stopTokens == null ? new int[0] : stopTokens.clone();
  }

  /** The same parameters with another seed. */
  public SamplingParams withSeed(long s) {
    return new SamplingParams(temperature, topP, topK, maxNewTokens, stopTokens, s);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SamplingParams p && p.temperature == temperature && p.topP == topP
        && p.topK == topK && p.maxNewTokens == maxNewTokens && Arrays.equals(p.stopTokens, stopTokens)
        && p.seed == seed;
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(stopTokens) * 31 + Long.hashCode(seed);
  }
}
