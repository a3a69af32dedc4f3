package dev.graft.tokenizer;

import dev.graft.tokenizer.BpeModel.Merge;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;

/**
 * BPE training by recounting every pair before each merge: slow and obviously correct, to check
 * {@link BpeTrainer}'s incremental index against. Same tie rule: lowest left id, then right id.
 */
final class NaiveBpeTrainer {

  private NaiveBpeTrainer() {}

  static List<Merge> merges(List<String> documents, int vocabSize) {
    List<String> tokens = new ArrayList<>(BpeTrainer.train(List.of(), vocabSize).tokens());
    Map<String, Integer> ids = new HashMap<>();
    for (int i = 0; i < tokens.size(); i++) {
      ids.put(tokens.get(i), i);
    }
    List<List<Integer>> words = new ArrayList<>();
    for (String doc : documents) {
      Matcher m = ByteLevel.PRE_TOKEN.matcher(doc);
      while (m.find()) {
        List<Integer> word = new ArrayList<>();
        for (char symbol : ByteLevel.symbols(m.group()).toCharArray()) {
          word.add(ids.get(String.valueOf(symbol)));
        }
        words.add(word);
      }
    }
    List<Merge> merges = new ArrayList<>();
    while (tokens.size() < vocabSize) {
      long[] best = bestPair(words);
      if (best == null) {
        break;
      }
      int left = (int) best[0];
      int right = (int) best[1];
      String joined = tokens.get(left) + tokens.get(right);
      if (!ids.containsKey(joined)) {
        ids.put(joined, tokens.size());
        tokens.add(joined);
      }
      merges.add(new Merge(tokens.get(left), tokens.get(right)));
      int merged = ids.get(joined);
      for (List<Integer> word : words) {
        for (int i = 0; i + 1 < word.size(); i++) {
          if (word.get(i) == left && word.get(i + 1) == right) {
            word.set(i, merged);
            word.remove(i + 1);
          }
        }
      }
    }
    return merges;
  }

  /** {left, right, count} of the most frequent pair, or null if there is none. */
  private static long[] bestPair(List<List<Integer>> words) {
    Map<List<Integer>, Long> counts = new HashMap<>();
    for (List<Integer> word : words) {
      for (int i = 0; i + 1 < word.size(); i++) {
        counts.merge(List.of(word.get(i), word.get(i + 1)), 1L, Long::sum);
      }
    }
    long[] best = null;
    for (Map.Entry<List<Integer>, Long> e : counts.entrySet()) {
      long[] c = {e.getKey().get(0), e.getKey().get(1), e.getValue()};
      if (best == null || c[2] > best[2]
          || (c[2] == best[2] && (c[0] < best[0] || (c[0] == best[0] && c[1] < best[1])))) {
        best = c;
      }
    }
    return best;
  }
}
