package dev.graft.teacher;

/** What the teacher said about B sequences of length T; arrays are row-major. */
public sealed interface Scores {

  int batch();

  int length();

  /**
   * Top-k per position.
   *
   * @param ids (B, T, k) token ids, most likely first
   * @param logProbs (B, T, k) log-probs at {@code ids}
   * @param logTail (B, T) log of the mass outside the top-k; {@code -Infinity} when empty
   */
  record TopK(int batch, int length, int k, int[] ids, float[] logProbs, float[] logTail)
      implements Scores {}

  /** The whole distribution, (B, T, V) log-probs. */
  record Full(int batch, int length, int vocab, float[] logProbs) implements Scores {}

  /** (B, T) log-probs of the requested target ids. */
  record Targets(int batch, int length, float[] logProbs) implements Scores {}
}
