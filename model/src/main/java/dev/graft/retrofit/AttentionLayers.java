package dev.graft.retrofit;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/**
 * Which layers of a hybrid keep attention, as written in a run config: {@code none},
 * {@code every:K} (layers i with i mod K = K − 1, K &ge; 2: every:2 keeps 1, 3, ...) or a
 * comma-separated list of layer indices such as {@code 0,2}. The syntax is checked when parsed;
 * the indices against a teacher's depth by {@link #kept}.
 *
 * @param text the normalised spelling (trimmed, lower case), as a spec carries it
 * @param every K for every:K, else 0
 * @param listed the listed layers, ascending (empty for none and for every:K)
 */
record AttentionLayers(String text, int every, List<Integer> listed) {

  private static final String EVERY = "every:";

  /** @throws IllegalArgumentException for anything but none, every:K with K &ge; 2 or a list of distinct indices &ge; 0 */
  static AttentionLayers parse(String spelling) {
    if (spelling == null) {
      throw new IllegalArgumentException("a hybrid retrofit needs attention_layers (none, every:K or a list)");
    }
    String text = spelling.trim().toLowerCase(Locale.ROOT);
    if (text.equals("none")) {
      return new AttentionLayers(text, 0, List.of());
    }
    if (text.startsWith(EVERY)) {
      int k;
      try {
        k = Integer.parseInt(text.substring(EVERY.length()).trim());
      } catch (NumberFormatException e) {
        k = 0;
      }
      if (k < 2) {
        throw new IllegalArgumentException("attention_layers '" + text + "' needs every:K with K >= 2 (every:1"
            + " keeps every layer as attention)");
      }
      return new AttentionLayers(text, k, List.of());
    }
    TreeSet<Integer> layers = new TreeSet<>();
    for (String part : text.split(",")) {
      int l;
      try {
        l = Integer.parseInt(part.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("attention_layers '" + text
            + "' must be none, every:K or a comma-separated list of layer indices, e.g. 1,3");
      }
      if (l < 0 || !layers.add(l)) {
        throw new IllegalArgumentException("attention_layers '" + text + "' must list layer indices >= 0, each once");
      }
    }
    return new AttentionLayers(text, 0, List.copyOf(layers));
  }

  /**
   * The kept layers of a teacher of {@code layers} layers, ascending.
   *
   * @throws IllegalArgumentException for a listed layer the teacher does not have, or when every
   *     layer would keep attention
   */
  List<Integer> kept(int layers) {
    List<Integer> kept = new ArrayList<>();
    if (every > 0) {
      for (int i = 0; i < layers; i++) {
        if (i % every == every - 1) {
          kept.add(i);
        }
      }
    } else {
      for (int l : listed) {
        if (l >= layers) {
          throw new IllegalArgumentException("hybrid retrofit: attention layer " + l + " does not exist; the"
              + " teacher has " + layers + " layers (0.." + (layers - 1) + ")");
        }
      }
      kept.addAll(listed);
    }
    if (kept.size() == layers) {
      throw new IllegalArgumentException("hybrid retrofit: attention_layers '" + text + "' keeps all " + layers
          + " layers as attention; convert at least one");
    }
    return kept;
  }
}
