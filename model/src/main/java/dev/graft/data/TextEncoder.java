package dev.graft.data;

/**
 * Turns text into token ids. Implementations return only the text's own tokens: {@link
 * SequencePacker} adds the beginning- and end-of-sequence ids around each document itself.
 */
@FunctionalInterface
public interface TextEncoder {

  /** The token ids of {@code text}, each in {@code [0, vocabSize)}; never null. */
  int[] encode(String text);
}
