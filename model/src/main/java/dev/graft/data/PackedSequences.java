package dev.graft.data;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Fixed-length language-modelling sequences, each from a single domain, stored in one flat buffer.
 *
 * <p>Sequence {@code i} is a window of {@code seqLen + 1} tokens: {@link #inputs} are its first
 * {@code seqLen} tokens and {@link #targets} the last {@code seqLen} (the inputs shifted by one).
 * Only the first {@link #validTargets} targets are real; the rest are padding and must be excluded
 * from losses and perplexities (see {@link #targetMask}). Instances are immutable; every accessor
 * returns a fresh array.
 */
public final class PackedSequences {

  private final int seqLen;
  private final int[] tokens;
  private final int[] validTargets;
  private final int[] domainIndex;
  private final List<String> domains;

  /**
   * @param tokens {@code size * (seqLen + 1)} tokens, sequence after sequence (not copied)
   * @param validTargets per sequence, in {@code [1, seqLen]} (not copied)
   * @param domainIndex per sequence, an index into {@code domains} (not copied)
   */
  PackedSequences(
      int seqLen, int[] tokens, int[] validTargets, int[] domainIndex, List<String> domains) {
    int size = validTargets.length;
    if (domainIndex.length != size || tokens.length != (long) size * (seqLen + 1)) {
      throw new IllegalArgumentException(
          "inconsistent buffers: " + size + " sequences of " + (seqLen + 1) + " tokens but "
              + tokens.length + " tokens and " + domainIndex.length + " domain entries");
    }
    this.seqLen = seqLen;
    this.tokens = tokens;
    this.validTargets = validTargets;
    this.domainIndex = domainIndex;
    this.domains = List.copyOf(domains);
  }

  /** Number of sequences. */
  public int size() {
    return validTargets.length;
  }

  /** Tokens per input (and per target) sequence. */
  public int seqLen() {
    return seqLen;
  }

  /** Every domain of the packed documents, sorted; some may have no sequence. */
  public List<String> domains() {
    return domains;
  }

  /** The domain of sequence {@code i}. */
  public String domain(int i) {
    return domains.get(domainIndex[check(i)]);
  }

  /** The {@code seqLen + 1} tokens of sequence {@code i}, padding included. */
  public int[] window(int i) {
    int start = check(i) * (seqLen + 1);
    return Arrays.copyOfRange(tokens, start, start + seqLen + 1);
  }

  /** The model inputs of sequence {@code i}: its first {@code seqLen} tokens. */
  public int[] inputs(int i) {
    int start = check(i) * (seqLen + 1);
    return Arrays.copyOfRange(tokens, start, start + seqLen);
  }

  /** The targets of sequence {@code i}: the inputs shifted left by one. */
  public int[] targets(int i) {
    int start = check(i) * (seqLen + 1) + 1;
    return Arrays.copyOfRange(tokens, start, start + seqLen);
  }

  /** How many leading targets of sequence {@code i} are real; {@code seqLen} unless padded. */
  public int validTargets(int i) {
    return validTargets[check(i)];
  }

  /** Per target position of sequence {@code i}: true for a real token, false for padding. */
  public boolean[] targetMask(int i) {
    boolean[] mask = new boolean[seqLen];
    Arrays.fill(mask, 0, validTargets(i), true);
    return mask;
  }

  /** Every real target token, sequence after sequence. */
  public int[] targetTokens() {
    return collectTargets(-1);
  }

  /** Every real target token of the sequences of {@code domain}. */
  public int[] targetTokens(String domain) {
    int index = domains.indexOf(domain);
    if (index < 0) {
      throw new IllegalArgumentException(
          "unknown domain '" + domain + "'; the domains are " + domains);
    }
    return collectTargets(index);
  }

  /** Number of sequences per domain, sorted by domain. */
  public Map<String, Integer> sequenceCountByDomain() {
    Map<String, Integer> counts = new TreeMap<>();
    for (String domain : domains) {
      counts.put(domain, 0);
    }
    for (int index : domainIndex) {
      counts.merge(domains.get(index), 1, Integer::sum);
    }
    return Collections.unmodifiableMap(counts);
  }

  private int[] collectTargets(int domain) {
    int count = 0;
    for (int i = 0; i < size(); i++) {
      count += domain < 0 || domainIndex[i] == domain ? validTargets[i] : 0;
    }
    int[] out = new int[count];
    int at = 0;
    for (int i = 0; i < size(); i++) {
      if (domain < 0 || domainIndex[i] == domain) {
        System.arraycopy(tokens, i * (seqLen + 1) + 1, out, at, validTargets[i]);
        at += validTargets[i];
      }
    }
    return out;
  }

  private int check(int i) {
    if (i < 0 || i >= size()) {
      throw new IndexOutOfBoundsException("sequence " + i + " of " + size());
    }
    return i;
  }
}
