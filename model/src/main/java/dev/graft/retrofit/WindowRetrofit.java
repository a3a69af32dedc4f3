package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.Attention;
import dev.graft.model.DecoderLayer;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * Retrofit to sliding-window attention: the chosen layers attend to the last {@code window}
 * positions (the query's own included) plus the first {@code sinks} positions of the sequence
 * ("attention sinks"), so decoding keeps at most {@code window + sinks} keys and values per
 * sequence in those layers. The weights do not change shape: the student is the teacher's
 * architecture with a narrower mask, trained to cope with it.
 *
 * <p>One interpolation unit per windowed layer, in ascending layer order (the α order names units,
 * so {@code forward} shrinks the lowest windowed layer first). A unit at α has the effective
 * window {@link #effectiveWindow W_eff(α) = round(T_max − α·(T_max − W))}, T_max being the
 * teacher's {@code max_position_embeddings}: at α = 0 the window covers the whole context and the
 * layer is the teacher's causal attention, bit for bit; at α = 1 it is W.
 *
 * @param window W, in [1, max_position_embeddings]
 * @param sinks S, the always-visible first positions, &ge; 0
 * @param layers the windowed layers in ascending order; empty for every layer
 */
public record WindowRetrofit(int window, int sinks, List<Integer> layers) implements SameTensorsRetrofit {

  /** The retrofit's {@code type} in specs and run configs. */
  public static final String TYPE = "window";

  public WindowRetrofit {
    if (window < 1) {
      throw new IllegalArgumentException("window (" + window + ") must be >= 1");
    }
    if (sinks < 0) {
      throw new IllegalArgumentException("sinks (" + sinks + ") must be >= 0");
    }
    if (layers == null) {
      throw new IllegalArgumentException("a window retrofit needs a list of layers (empty for all)");
    }
    TreeSet<Integer> sorted = new TreeSet<>();
    for (Integer l : layers) {
      if (l == null || l < 0) {
        throw new IllegalArgumentException("window layers " + layers + " must be layer indices >= 0");
      }
      if (!sorted.add(l)) {
        throw new IllegalArgumentException("window layers " + layers + " name layer " + l + " twice");
      }
    }
    layers = List.copyOf(sorted);
  }

  /** Parses {@code all} or a comma-separated list of layer indices such as {@code 1,3}. */
  public static List<Integer> parseLayers(String text) {
    String t = text.trim();
    if (t.equalsIgnoreCase("all")) {
      return List.of();
    }
    List<Integer> out = new ArrayList<>();
    for (String part : t.split(",")) {
      try {
        out.add(Integer.parseInt(part.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("window layers '" + text
            + "' must be 'all' or a comma-separated list of layer indices, e.g. 1,3");
      }
    }
    return out;
  }

  @Override
  public String tag() {
    return TYPE + window + (sinks > 0 ? "s" + sinks : "");
  }

  @Override
  public String describe(LlamaConfig t) {
    return String.format(Locale.ROOT, "causal attention -> sliding window %d + %d sinks in layers %s", window,
        sinks, layers.isEmpty() ? "all" : layers.toString());
  }

  /** The windowed layers' indices for {@code teacher}, checked against its depth. */
  public List<Integer> windowedLayers(LlamaConfig teacher) {
    int n = teacher.numHiddenLayers();
    if (layers.isEmpty()) {
      List<Integer> all = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        all.add(i);
      }
      return all;
    }
    for (int l : layers) {
      if (l >= n) {
        throw new IllegalArgumentException("window retrofit: layer " + l + " does not exist; the teacher has "
            + n + " layers (0.." + (n - 1) + ")");
      }
    }
    return layers;
  }

  /** One unit per windowed layer. */
  @Override
  public int units(LlamaConfig teacher) {
    return windowedLayers(teacher).size();
  }

  /** The teacher's architecture (a window changes the mask, not the weights), once checked. */
  @Override
  public LlamaConfig targetConfig(LlamaConfig teacher) {
    int max = teacher.maxPositionEmbeddings();
    if (window > max) {
      throw new IllegalArgumentException("window retrofit: window (" + window
          + ") is larger than the teacher's context (max_position_embeddings " + max + ")");
    }
    if (sinks >= max) {
      throw new IllegalArgumentException("window retrofit: sinks (" + sinks
          + ") must be smaller than the teacher's context (max_position_embeddings " + max + ")");
    }
    windowedLayers(teacher);
    return teacher;
  }

  /** W_eff(α) = round(T_max − α·(T_max − W)): T_max at α = 0, W at α = 1. */
  public int effectiveWindow(LlamaConfig teacher, double alpha) {
    InterpolatedMixer.checkAlpha(alpha);
    return effectiveWindow(teacher.maxPositionEmbeddings(), window, alpha);
  }

  static int effectiveWindow(int maxPositions, int window, double alpha) {
    return (int) Math.round(maxPositions - alpha * (maxPositions - window));
  }

  /**
   * Key/value cache bytes of one sequence of {@code tokens} tokens at α = 1: a windowed layer keeps
   * at most W + S positions, any other layer all of them.
   */
  @Override
  public long kvCacheBytesPerSequence(LlamaConfig teacher, long tokens, int bytesPerElement) {
    long perTokenPerLayer = teacher.kvCacheBytesPerToken(bytesPerElement) / teacher.numHiddenLayers();
    int windowed = windowedLayers(teacher).size();
    long kept = Math.min(tokens, (long) window + sinks);
    return perTokenPerLayer * (windowed * kept + (long) (teacher.numHiddenLayers() - windowed) * tokens);
  }

  @Override
  public RetrofitStudent assemble(LlamaConfig teacher, Map<String, NDArray> state, NDManager manager) {
    LlamaConfig target = targetConfig(teacher);
    StateCheck.require(stateShapes(teacher), state);
    LlamaModel model = LlamaModel.fromTensors(teacher, manager, state);
    List<InterpolatedMixer> units = new ArrayList<>();
    for (int i : windowedLayers(teacher)) {
      DecoderLayer layer = model.layers().get(i);
      WindowMixer mixer = new WindowMixer((Attention) layer.mixer(), window, sinks,
          teacher.maxPositionEmbeddings());
      layer.replaceMixer(mixer);
      units.add(mixer);
    }
    return new RetrofitStudent(this, model, target, units);
  }

  @Override
  public Map<String, Object> spec() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", TYPE);
    m.put("window", window);
    m.put("sinks", sinks);
    m.put("layers", layers.isEmpty() ? "all" : layers);
    return m;
  }
}
