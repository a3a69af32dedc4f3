package dev.graft.teacher;

import dev.graft.data.TokenBatch;

/**
 * What one score request may carry, and the checks every teacher applies before any work: a
 * request that passes {@link #validate} is served, one that fails is refused with an
 * {@link IllegalArgumentException} whose message names the offending value and the limit.
 *
 * @param maxSequenceLength the longest sequence (T) one request may carry, &ge; 1
 * @param maxTokensPerRequest the most tokens (B·T) one request may carry, &ge; 1
 */
public record TeacherLimits(int maxSequenceLength, int maxTokensPerRequest) {

  /** Tokens per request when none is configured. */
  public static final int DEFAULT_MAX_TOKENS_PER_REQUEST = 16_384;

  public TeacherLimits {
    if (maxSequenceLength < 1) {
      throw new IllegalArgumentException("max_sequence_length (" + maxSequenceLength + ") must be >= 1");
    }
    if (maxTokensPerRequest < 1) {
      throw new IllegalArgumentException(
          "max_tokens_per_request (" + maxTokensPerRequest + ") must be >= 1");
    }
  }

  /** The model's full context and {@link #DEFAULT_MAX_TOKENS_PER_REQUEST} tokens. */
  public static TeacherLimits of(int maxPositionEmbeddings) {
    return new TeacherLimits(maxPositionEmbeddings, DEFAULT_MAX_TOKENS_PER_REQUEST);
  }

  /**
   * Checks a request against these limits and a vocabulary of {@code vocab} ids.
   *
   * @throws IllegalArgumentException for no rows, empty or ragged rows, a sequence or batch over
   *     the limits, an id outside [0, vocab), k &gt; vocab or targets of another shape
   */
  public void validate(TokenBatch tokens, ScoreRequest request, int vocab) {
    if (request == null) {
      throw new IllegalArgumentException("a score request needs an output kind (top_k, full or targets)");
    }
    checkGrid("tokens", tokens, vocab);
    int b = tokens.batch();
    int t = tokens.length();
    if (t > maxSequenceLength) {
      throw new IllegalArgumentException("sequence length " + t + " exceeds the teacher's "
          + "max_sequence_length " + maxSequenceLength + "; score shorter windows");
    }
    if ((long) b * t > maxTokensPerRequest) {
      throw new IllegalArgumentException("request holds " + b + " x " + t + " = " + (long) b * t
          + " tokens, over the teacher's max_tokens_per_request " + maxTokensPerRequest
          + "; split the batch");
    }
    if (request instanceof ScoreRequest.TopK topK && topK.k() > vocab) {
      throw new IllegalArgumentException(
          "top-k k (" + topK.k() + ") exceeds the vocabulary size (" + vocab + ")");
    }
    if (request instanceof ScoreRequest.Targets targets) {
      TokenBatch ids = targets.targets();
      checkGrid("targets", ids, vocab);
      if (ids.batch() != b || ids.length() != t) {
        throw new IllegalArgumentException("targets have shape (" + ids.batch() + ", " + ids.length()
            + ") but tokens have shape (" + b + ", " + t + "); they must match");
      }
    }
  }

  private static void checkGrid(String what, TokenBatch grid, int vocab) {
    if (grid == null || grid.batch() == 0) {
      throw new IllegalArgumentException(what + " must hold at least one row");
    }
    if (grid.length() == 0) {
      throw new IllegalArgumentException(what + " rows must hold at least one token");
    }
    int[] ids = grid.ids();
    for (int p = 0; p < ids.length; p++) {
      if (ids[p] < 0 || ids[p] >= vocab) {
        throw new IllegalArgumentException(what.substring(0, what.length() - 1) + " id " + ids[p]
            + " at [row " + p / grid.length() + ", position " + p % grid.length()
            + "] is outside the vocabulary [0, " + vocab + ")");
      }
    }
  }
}
