package dev.graft.sampler;

/**
 * One completion of one prompt.
 *
 * @param prompt the prompt's token ids
 * @param tokens the generated ids, in order (a stop token, when hit, is the last)
 * @param logProbs the sampling policy's log-prob of each generated token, at temperature 1 on
 *     the unfiltered distribution (what the trainer recomputes), same length as {@code tokens}
 * @param policyVersion the policy version whose weights produced every token of this rollout
 * @param finish why generation ended
 * @param policyEpoch the trainer run that published {@code policyVersion}; 0 for a policy
 *     installed by hand
 */
public record Rollout(int[] prompt, int[] tokens, float[] logProbs, long policyVersion, Finish finish,
    long policyEpoch) {

  /** Why a rollout ended. */
  public enum Finish { STOP_TOKEN, MAX_NEW_TOKENS, CONTEXT_FULL }

  /** A rollout of a policy installed by hand (epoch 0). */
  public Rollout(int[] prompt, int[] tokens, float[] logProbs, long policyVersion, Finish finish) {
    this(prompt, tokens, logProbs, policyVersion, finish, 0);
  }
}
