package dev.graft.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Packs documents into fixed-length language-modelling sequences, one domain at a time so that
 * every sequence holds text of a single domain.
 *
 * <p>Within a domain, documents are encoded in the order given, framed as {@code [bos] + tokens +
 * [eos]} and concatenated into one stream of {@code n} tokens. Window {@code k} is {@code
 * stream[k * seqLen .. k * seqLen + seqLen]} ({@code seqLen + 1} tokens): consecutive windows share
 * one token, so every token of the stream except the first is a target exactly once. The last
 * {@code (n - 1) mod seqLen} targets of a domain do not fill a window: {@link Tail#DROP} discards
 * them (for training), {@link Tail#PAD} keeps them in one last window filled up with {@code padId}
 * and marked by {@link PackedSequences#validTargets} (for validation, so that no held-out token is
 * lost).
 */
public final class SequencePacker {

  /** What to do with the last, partial window of each domain. */
  public enum Tail {
    /** Discard it: every sequence is full. */
    DROP,
    /** Keep it, padded with {@code padId} after its real tokens. */
    PAD
  }

  private final int seqLen;
  private final int bosId;
  private final int eosId;
  private final int padId;

  /**
   * @param seqLen tokens per input sequence, at least 1
   * @param bosId beginning-of-sequence id put before every document, non-negative
   * @param eosId end-of-sequence id put after every document, non-negative
   * @param padId id that fills a padded window, non-negative (never a target: it is masked)
   */
  public SequencePacker(int seqLen, int bosId, int eosId, int padId) {
    if (seqLen < 1) {
      throw new IllegalArgumentException("seqLen (" + seqLen + ") must be at least 1");
    }
    if (bosId < 0 || eosId < 0 || padId < 0) {
      throw new IllegalArgumentException(
          "token ids must be non-negative: bos=" + bosId + " eos=" + eosId + " pad=" + padId);
    }
    this.seqLen = seqLen;
    this.bosId = bosId;
    this.eosId = eosId;
    this.padId = padId;
  }

  /**
   * Encodes and packs {@code documents}; sequences come domain by domain in sorted domain order.
   *
   * @throws IllegalArgumentException if there are no documents, the encoder returns a negative id,
   *     or not one sequence results (the corpus is shorter than a window)
   */
  public PackedSequences pack(List<Document> documents, TextEncoder encoder, Tail tail) {
    Objects.requireNonNull(encoder, "encoder");
    Objects.requireNonNull(tail, "tail");
    if (documents.isEmpty()) {
      throw new IllegalArgumentException("no documents to pack");
    }
    Map<String, List<Document>> byDomain = new TreeMap<>();
    for (Document document : documents) {
      byDomain.computeIfAbsent(document.domain(), d -> new ArrayList<>()).add(document);
    }
    List<String> domains = List.copyOf(byDomain.keySet());
    IntBuffer windows = new IntBuffer();
    IntBuffer validTargets = new IntBuffer();
    IntBuffer domainIndex = new IntBuffer();
    long streamTokens = 0;
    for (int d = 0; d < domains.size(); d++) {
      int[] stream = encodeStream(byDomain.get(domains.get(d)), encoder);
      streamTokens += stream.length;
      int before = validTargets.size();
      cut(stream, tail, windows, validTargets);
      for (int s = before; s < validTargets.size(); s++) {
        domainIndex.add(d);
      }
    }
    if (validTargets.size() == 0) {
      throw new IllegalArgumentException(
          "the corpus (" + streamTokens + " tokens with bos/eos) fills no window of "
              + (seqLen + 1) + " tokens in any domain; lower seqLen or pack with Tail.PAD");
    }
    return new PackedSequences(
        seqLen, windows.toArray(), validTargets.toArray(), domainIndex.toArray(), domains);
  }

  private int[] encodeStream(List<Document> documents, TextEncoder encoder) {
    IntBuffer stream = new IntBuffer();
    for (Document document : documents) {
      int[] ids = Objects.requireNonNull(encoder.encode(document.text()), "encoder returned null");
      stream.add(bosId);
      for (int id : ids) {
        if (id < 0) {
          throw new IllegalArgumentException(
              "encoder returned negative token id " + id + " for document '" + document.id() + "'");
        }
        stream.add(id);
      }
      stream.add(eosId);
    }
    return stream.toArray();
  }

  /** Appends the windows of one domain's stream to {@code windows}. */
  private void cut(int[] stream, Tail tail, IntBuffer windows, IntBuffer validTargets) {
    int targets = stream.length - 1;
    int full = targets / seqLen;
    for (int k = 0; k < full; k++) {
      windows.addAll(stream, k * seqLen, seqLen + 1);
      validTargets.add(seqLen);
    }
    int rest = targets - full * seqLen;
    if (rest > 0 && tail == Tail.PAD) {
      int[] window = new int[seqLen + 1];
      Arrays.fill(window, padId);
      System.arraycopy(stream, full * seqLen, window, 0, rest + 1);
      windows.addAll(window, 0, window.length);
      validTargets.add(rest);
    }
  }

  /** A growable int array. */
  private static final class IntBuffer {
    private int[] data = new int[1024];
    private int size;

    void add(int value) {
      ensure(1);
      data[size++] = value;
    }

    void addAll(int[] values, int from, int count) {
      ensure(count);
      System.arraycopy(values, from, data, size, count);
      size += count;
    }

    int size() {
      return size;
    }

    int[] toArray() {
      return Arrays.copyOf(data, size);
    }

    private void ensure(int extra) {
      if (size + extra > data.length) {
        long wanted = Math.max((long) data.length * 2, (long) size + extra);
        if (wanted > Integer.MAX_VALUE - 8) {
          throw new IllegalArgumentException("corpus too large to pack in one buffer (2^31 ints)");
        }
        data = Arrays.copyOf(data, (int) wanted);
      }
    }
  }
}
