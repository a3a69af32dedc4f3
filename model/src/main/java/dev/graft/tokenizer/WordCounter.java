package dev.graft.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;

/** Counts the pre-tokens ("words") of a corpus, the first pass of BPE training. */
final class WordCounter {

  private final Map<String, long[]> counts = new HashMap<>();
  private long documents;
  private long preTokens;

  /** Splits one document with the byte-level pattern and counts each piece. */
  void add(String document) {
    Matcher m = ByteLevel.PRE_TOKEN.matcher(document);
    while (m.find()) {
      counts.computeIfAbsent(m.group(), k -> new long[1])[0]++;
      preTokens++;
    }
    documents++;
  }

  long documents() {
    return documents;
  }

  long preTokens() {
    return preTokens;
  }

  /**
   * The distinct words as sequences of symbol ids ({@code firstByteId} + byte value), with their
   * counts in {@code freqs}, which must have length {@link #distinctWords()}.
   */
  int[][] words(int firstByteId, long[] freqs) {
    int[][] words = new int[counts.size()][];
    int w = 0;
    for (Map.Entry<String, long[]> e : counts.entrySet()) {
      byte[] bytes = e.getKey().getBytes(StandardCharsets.UTF_8);
      int[] symbols = new int[bytes.length];
      for (int i = 0; i < bytes.length; i++) {
        symbols[i] = firstByteId + (bytes[i] & 0xff);
      }
      words[w] = symbols;
      freqs[w] = e.getValue()[0];
      w++;
    }
    return words;
  }

  int distinctWords() {
    return counts.size();
  }
}
