package dev.graft.teacher;

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
  public void validate(int[][] tokens, ScoreRequest request, int vocab) {
    if (request == null) {
      throw new IllegalArgumentException("a score request needs an output kind (top_k, full or targets)");
    }
    checkGrid("tokens", tokens, vocab);
    int b = tokens.length;
    int t = tokens[0].length;
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
      int[][] ids = targets.targets();
      checkGrid("targets", ids, vocab);
      if (ids.length != b || ids[0].length != t) {
        throw new IllegalArgumentException("targets have shape (" + ids.length + ", " + ids[0].length
            + ") but tokens have shape (" + b + ", " + t + "); they must match");
      }
    }
  }

  private static void checkGrid(String what, int[][] grid, int vocab) {
    if (grid == null || grid.length == 0) {
      throw new IllegalArgumentException(what + " must hold at least one row");
    }
    if (grid[0] == null || grid[0].length == 0) {
      throw new IllegalArgumentException(what + " rows must hold at least one token");
    }
    int t = grid[0].length;
    for (int r = 0; r < grid.length; r++) {
      int[] row = grid[r];
      if (row == null || row.length != t) {
        throw new IllegalArgumentException(what + " row " + r + " has " + (row == null ? 0 : row.length)
            + " tokens but row 0 has " + t + "; all rows must have the same length");
      }
      for (int i = 0; i < t; i++) {
        if (row[i] < 0 || row[i] >= vocab) {
          throw new IllegalArgumentException(what.substring(0, what.length() - 1) + " id " + row[i]
              + " at [row " + r + ", position " + i + "] is outside the vocabulary [0, " + vocab + ")");
        }
      }
    }
  }
}
