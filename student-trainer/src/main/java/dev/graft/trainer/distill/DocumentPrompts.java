package dev.graft.trainer.distill;

import dev.graft.data.TextEncoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The prompts of on-policy rows: the beginnings of training documents, as the model sees a
 * document start in training — {@code [bos]} and the document's first {@code promptTokens − 1}
 * ids. They are collected while the corpus is packed ({@link #capturing}), so no document is
 * tokenized twice. Row r of step s takes the prompt a seeded draw picks, so a resumed run asks for
 * the same prompts.
 */
final class DocumentPrompts {

  private final int bosId;
  private final int promptTokens;
  private final long seed;
  private final List<int[]> prompts;
  private final String what; // the rows' kind, for messages
  private final String key; // the config key of promptTokens, for messages

  DocumentPrompts(int bosId, int promptTokens, long seed) {
    this(bosId, promptTokens, seed, "an on-policy prompt", "onpolicy.prompt_tokens");
  }

  /**
   * @param what the rows' kind, e.g. "a teacher-continuation prompt"
   * @param key the config key of {@code promptTokens}, e.g. "seqkd.prompt_tokens"
   */
  DocumentPrompts(int bosId, int promptTokens, long seed, String what, String key) {
    this(bosId, promptTokens, seed, what, key, new ArrayList<>());
  }

  private DocumentPrompts(int bosId, int promptTokens, long seed, String what, String key, List<int[]> prompts) {
    if (promptTokens < 1) {
      throw new IllegalArgumentException("prompt tokens (" + promptTokens + ") must be >= 1");
    }
    this.prompts = prompts;
    this.bosId = bosId;
    this.promptTokens = promptTokens;
    this.seed = seed;
    this.what = what;
    this.key = key;
  }

  /**
   * Wraps {@code encoder} so that every document it encodes also gives its prompt; documents
   * shorter than a prompt give none.
   */
  TextEncoder capturing(TextEncoder encoder) {
    return text -> {
      int[] ids = encoder.encode(text);
      if (ids.length >= promptTokens - 1) {
        int[] p = new int[promptTokens];
        p[0] = bosId;
        System.arraycopy(ids, 0, p, 1, promptTokens - 1);
        prompts.add(p);
      }
      return ids;
    };
  }

  /**
   * The same documents' prompts drawn with another seed ({@code seed ^ salt}): another sequence of
   * prompts over the same captured beginnings (which it shares, captured or not yet).
   */
  DocumentPrompts salted(long salt) {
    return new DocumentPrompts(bosId, promptTokens, seed ^ salt, what, key, prompts);
  }

  /** Documents that gave a prompt. */
  int size() {
    return prompts.size();
  }

  /**
   * The prompt of on-policy row {@code row} of {@code step}.
   *
   * @throws IllegalStateException when no document was long enough to give a prompt
   */
  int[] forRow(long step, int row) {
    if (prompts.isEmpty()) {
      throw new IllegalStateException("no training document has " + (promptTokens - 1)
          + " tokens for " + what + " (" + key + " " + promptTokens + ")");
    }
    SplittableRandom rng = new SplittableRandom(seed ^ (step * 0x9E3779B97F4A7C15L + row * 0xBF58476D1CE4E5B9L));
    return Arrays.copyOf(prompts.get(rng.nextInt(prompts.size())), promptTokens);
  }
}
