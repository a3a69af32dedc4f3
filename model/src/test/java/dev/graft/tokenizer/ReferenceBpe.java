package dev.graft.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;

/**
 * GPT-2's textbook BPE encoder over a {@link BpeModel}, written independently of the native
 * library, to cross-check its ids. Does not handle special tokens in the text.
 */
final class ReferenceBpe {

  private final Map<String, Integer> ids = new HashMap<>();
  private final Map<String, Integer> ranks = new HashMap<>();

  ReferenceBpe(BpeModel model) {
    for (int id = 0; id < model.tokens().size(); id++) {
      ids.put(model.tokens().get(id), id);
    }
    for (int rank = 0; rank < model.merges().size(); rank++) {
      ranks.putIfAbsent(model.merges().get(rank).toString(), rank);
    }
  }

  int[] encode(String text) {
    List<Integer> out = new ArrayList<>();
    Matcher m = ByteLevel.PRE_TOKEN.matcher(text);
    while (m.find()) {
      for (String token : bpe(ByteLevel.symbols(m.group()))) {
        out.add(ids.get(token));
      }
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  private List<String> bpe(String piece) {
    List<String> parts = new ArrayList<>();
    piece.chars().forEach(c -> parts.add(String.valueOf((char) c)));
    while (parts.size() > 1) {
      int bestRank = Integer.MAX_VALUE;
      String bestPair = null;
      for (int i = 0; i + 1 < parts.size(); i++) {
        Integer rank = ranks.get(parts.get(i) + " " + parts.get(i + 1));
        if (rank != null && rank < bestRank) {
          bestRank = rank;
          bestPair = parts.get(i) + " " + parts.get(i + 1);
        }
      }
      if (bestPair == null) {
        break;
      }
      List<String> merged = new ArrayList<>();
      for (int i = 0; i < parts.size(); i++) {
        if (i + 1 < parts.size() && bestPair.equals(parts.get(i) + " " + parts.get(i + 1))) {
          merged.add(parts.get(i) + parts.get(i + 1));
          i++;
        } else {
          merged.add(parts.get(i));
        }
      }
      parts.clear();
      parts.addAll(merged);
    }
    return parts;
  }
}
