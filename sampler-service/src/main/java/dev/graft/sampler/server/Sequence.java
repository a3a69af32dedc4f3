package dev.graft.sampler.server;

import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplingParams;
import dev.graft.sampler.TokenSampler;
import java.util.Arrays;
import java.util.Random;

/**
 * One prompt being completed: its sampling state (own RNG, seeded from its own seed) and the
 * tokens generated so far. Owned by the engine thread once queued.
 */
final class Sequence {

  final GenerationJob job;
  final int index;
  final int[] prompt;
  final SamplingParams params;
  private final Random rng;
  private final int context;
  private final int[] tokens;
  private final float[] logProbs;
  private int generated;
  int slot = -1;

  /**
   * @param params this prompt's parameters, its seed already offset by its index
   * @param context the model's max_position_embeddings; the prompt is shorter
   */
  Sequence(GenerationJob job, int index, int[] prompt, SamplingParams params, int context) {
    this.job = job;
    this.index = index;
    this.prompt = prompt;
    this.params = params;
    this.rng = new Random(params.seed());
    this.context = context;
    int room = Math.min(params.maxNewTokens(), context - prompt.length);
    this.tokens = new int[room];
    this.logProbs = new float[room];
  }

  /** Prompt plus generated tokens. */
  int length() {
    return prompt.length + generated;
  }

  /** The tokens generated so far. */
  int[] generatedTokens() {
    return Arrays.copyOf(tokens, generated);
  }

  /** The newest token, which the next decode step reads at position {@link #length()} − 1. */
  int lastToken() {
    return generated == 0 ? prompt[prompt.length - 1] : tokens[generated - 1];
  }

  /**
   * Samples the next token from its logits (vocab) and appends it with its raw log-prob.
   *
   * @return why the sequence ended with this token, or null if it goes on
   */
  Rollout.Finish accept(float[] logits) {
    int token = TokenSampler.choose(logits, params, rng);
    tokens[generated] = token;
    logProbs[generated] = TokenSampler.logProb(logits, token);
    generated++;
    for (int stop : params.stopTokens()) {
      if (stop == token) {
        return Rollout.Finish.STOP_TOKEN;
      }
    }
    if (generated == params.maxNewTokens()) {
      return Rollout.Finish.MAX_NEW_TOKENS;
    }
    return length() == context ? Rollout.Finish.CONTEXT_FULL : null;
  }

  Rollout toRollout(long epoch, long version, Rollout.Finish finish) {
    return new Rollout(prompt, Arrays.copyOf(tokens, generated), Arrays.copyOf(logProbs, generated),
        version, finish, epoch);
  }
}
