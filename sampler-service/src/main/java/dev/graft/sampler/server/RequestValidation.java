package dev.graft.sampler.server;

import dev.graft.model.LlamaConfig;
import dev.graft.sampler.SamplingParams;
import java.util.List;

/** Checks a generation request against the model and the engine's limits, naming the bad value. */
final class RequestValidation {

  private RequestValidation() {}

  /** @throws IllegalArgumentException on the first problem found */
  static void check(List<int[]> prompts, SamplingParams params, LlamaConfig config,
      GenerationEngine.Options options) {
    if (params == null) {
      throw new IllegalArgumentException("sampling parameters are required");
    }
    if (prompts == null || prompts.isEmpty()) {
      throw new IllegalArgumentException("a request needs at least one prompt");
    }
    if (prompts.size() > options.maxQueuedSequences()) {
      throw new IllegalArgumentException("a request may carry at most "
          + options.maxQueuedSequences() + " prompts (max_queued_sequences), got " + prompts.size());
    }
    if (params.maxNewTokens() > options.maxNewTokensLimit()) {
      throw new IllegalArgumentException("max_new_tokens (" + params.maxNewTokens()
          + ") exceeds this sampler's limit of " + options.maxNewTokensLimit());
    }
    int vocab = config.vocabSize();
    for (int stop : params.stopTokens()) {
      if (stop < 0 || stop >= vocab) {
        throw new IllegalArgumentException("stop token " + stop + " is outside [0, " + vocab + ")");
      }
    }
    int context = config.maxPositionEmbeddings();
    for (int i = 0; i < prompts.size(); i++) {
      int[] p = prompts.get(i);
      if (p == null || p.length == 0) {
        throw new IllegalArgumentException("prompt " + i + " is empty; every prompt needs >= 1 token");
      }
      if (p.length >= context) {
        throw new IllegalArgumentException("prompt " + i + " has " + p.length
            + " tokens, leaving no room to generate within max_sequence_length " + context
            + "; prompts must be shorter than " + context);
      }
      for (int t = 0; t < p.length; t++) {
        if (p[t] < 0 || p[t] >= vocab) {
          throw new IllegalArgumentException("prompt " + i + " token " + t + " has id " + p[t]
              + ", outside the vocabulary [0, " + vocab + ")");
        }
      }
    }
  }
}
