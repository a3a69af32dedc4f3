package dev.graft.tokenizer;

import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Counts of adjacent symbol pairs over a table of distinct words, kept current as merges are
 * applied, so that each merge touches only the words that contain its pair.
 *
 * <p>The queue is lazy: an entry may carry a stale count. Counts of existing pairs only fall
 * (stale entries are corrected when they surface); every pair whose count rises during a merge is
 * queued again with its new count. The best pair is the one with the highest count; ties go to
 * the lowest left id, then the lowest right id, so training is deterministic.
 */
final class PairIndex {

  /** A pair of symbol ids with the count it had when queued. */
  record Candidate(long count, int left, int right) {}

  private static final Comparator<Candidate> BEST_FIRST =
      Comparator.comparingLong(Candidate::count)
          .reversed()
          .thenComparingInt(Candidate::left)
          .thenComparingInt(Candidate::right);

  /** Current count of one pair and the words that may contain it (stale entries allowed). */
  private static final class Stats {
    long count;
    int[] words = new int[4];
    int size;

    void addWord(int w) {
      if (size > 0 && words[size - 1] == w) {
        return;
      }
      if (size == words.length) {
        words = Arrays.copyOf(words, size * 2);
      }
      words[size++] = w;
    }
  }

  private final int[][] words;
  private final int[] lengths;
  private final long[] freqs;
  private final int[] lastVisit;
  private final Map<Long, Stats> pairs = new HashMap<>();
  private final PriorityQueue<Candidate> queue = new PriorityQueue<>(BEST_FIRST);
  private int step;

  /** Indexes {@code words} (rewritten in place as merges apply) weighted by {@code freqs}. */
  PairIndex(int[][] words, long[] freqs) {
    this.words = words;
    this.freqs = freqs;
    this.lengths = new int[words.length];
    this.lastVisit = new int[words.length];
    for (int w = 0; w < words.length; w++) {
      int[] s = words[w];
      lengths[w] = s.length;
      for (int i = 0; i + 1 < s.length; i++) {
        Stats stats = pairs.computeIfAbsent(key(s[i], s[i + 1]), k -> new Stats());
        stats.count += freqs[w];
        stats.addWord(w);
      }
    }
    pairs.forEach((k, stats) -> queue.add(candidate(k, stats.count)));
  }

  /** The most frequent pair, or {@code null} when no word has two symbols left. */
  Candidate best() {
    Candidate top;
    while ((top = queue.poll()) != null) {
      long current = pairs.get(key(top.left(), top.right())).count;
      if (current == top.count()) {
        return top;
      }
      if (current > 0) {
        queue.add(new Candidate(current, top.left(), top.right()));
      }
    }
    return null;
  }

  /** Replaces every occurrence of ({@code left}, {@code right}) by {@code merged}. */
  void merge(int left, int right, int merged) {
    step++;
    Stats target = pairs.get(key(left, right));
    int[] candidates = Arrays.copyOf(target.words, target.size);
    Set<Long> risen = new HashSet<>();
    for (int w : candidates) {
      if (lastVisit[w] != step) {
        lastVisit[w] = step;
        mergeWord(w, left, right, merged, risen);
      }
    }
    for (long k : risen) {
      queue.add(candidate(k, pairs.get(k).count));
    }
  }

  private void mergeWord(int w, int left, int right, int merged, Set<Long> risen) {
    int[] s = words[w];
    int len = lengths[w];
    if (!contains(s, len, left, right)) {
      return;
    }
    long freq = freqs[w];
    for (int i = 0; i + 1 < len; i++) {
      pairs.get(key(s[i], s[i + 1])).count -= freq;
    }
    int out = 0;
    for (int i = 0; i < len; ) {
      if (i + 1 < len && s[i] == left && s[i + 1] == right) {
        s[out++] = merged;
        i += 2;
      } else {
        s[out++] = s[i++];
      }
    }
    lengths[w] = out;
    for (int i = 0; i + 1 < out; i++) {
      long k = key(s[i], s[i + 1]);
      Stats stats = pairs.computeIfAbsent(k, x -> new Stats());
      stats.count += freq;
      if (s[i] == merged || s[i + 1] == merged) {
        // Only pairs with the new symbol are new to this word or can have grown.
        stats.addWord(w);
        risen.add(k);
      }
    }
  }

  private static boolean contains(int[] s, int len, int left, int right) {
    for (int i = 0; i + 1 < len; i++) {
      if (s[i] == left && s[i + 1] == right) {
        return true;
      }
    }
    return false;
  }

  private static long key(int left, int right) {
    return ((long) left << 32) | (right & 0xffffffffL);
  }

  private static Candidate candidate(long key, long count) {
    return new Candidate(count, (int) (key >>> 32), (int) key);
  }
}
