package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;

/** The decoder stack under Hugging Face's {@code model.} prefix: embedding, layers, final norm. */
public final class LlamaBackbone extends Module {

  private final Embedding embed;
  private final List<DecoderLayer> layers;
  private final RmsNorm norm;

  public LlamaBackbone(Embedding embed, List<DecoderLayer> layers, RmsNorm norm) {
    this.embed = registerChild("embed_tokens", embed);
    this.layers = List.copyOf(layers);
    registerChild("layers", new Stack(this.layers));
    this.norm = registerChild("norm", norm);
  }

  public Embedding embedding() {
    return embed;
  }

  public List<DecoderLayer> layers() {
    return layers;
  }

  /** The final norm, applied after the last layer. */
  public RmsNorm norm() {
    return norm;
  }

  /** A full causal pass: ids (B, T) int64 → final hidden states (B, T, hidden). */
  public NDArray forward(NDArray ids) {
    NDArray h = embed.forward(ids); // (B, T, D)
    for (DecoderLayer layer : layers) {
      h = layer.forward(h);
    }
    return norm.forward(h);
  }

  /**
   * {@link #forward} for inference: each layer runs under its own sub-manager of {@code ids}'
   * manager, which closes as soon as the layer's output has been moved out, so the pass holds one
   * layer's activations (and its attention scores) at a time instead of every layer's until the
   * caller's manager closes. The result lives in {@code ids}' manager. Nothing of the pass can be
   * differentiated: use it where no gradient flows (teacher scoring, evaluation, prefill).
   */
  public NDArray forwardReleasing(NDArray ids) {
    NDManager home = ids.getManager();
    NDArray h = embed.forward(ids); // (B, T, D), in home
    for (DecoderLayer layer : layers) {
      try (NDManager scope = home.newSubManager()) {
        h.attach(scope); // the layer's input dies with the layer
        NDArray out = layer.forward(h);
        out.attach(home);
        h = out;
      }
    }
    try (NDManager scope = home.newSubManager()) {
      h.attach(scope);
      NDArray out = norm.forward(h);
      out.attach(home);
      return out;
    }
  }

  /** Sees each layer's hidden states during {@link #forwardCapturing}. */
  @FunctionalInterface
  public interface LayerProbe {
    /**
     * Called once per layer, in order, while the layer's tensors are alive; they are freed when
     * this returns, so copy out what must be kept.
     *
     * @param input (B, T, D) the residual stream entering the layer
     * @param mixerInput (B, T, D) {@code input} after the layer's attention norm
     * @param mixerOutput (B, T, D) what the layer's mixer returns, before the residual add
     * @param output (B, T, D) the residual stream leaving the layer
     */
    void visit(int layer, NDArray input, NDArray mixerInput, NDArray mixerOutput, NDArray output);
  }

  /**
   * Runs the first {@code layerCount} layers like {@link #forwardReleasing} (one layer's
   * activations alive at a time, no gradient), showing each layer's hidden states to {@code probe};
   * the layers after them and the final norm do not run.
   *
   * @throws IllegalArgumentException if {@code layerCount} is outside [1, layers]
   */
  public void forwardCapturing(NDArray ids, int layerCount, LayerProbe probe) {
    if (layerCount < 1 || layerCount > layers.size()) {
      throw new IllegalArgumentException(
          "layer count " + layerCount + " is outside [1, " + layers.size() + "]");
    }
    NDManager home = ids.getManager();
    NDArray h = embed.forward(ids); // (B, T, D), in home
    for (int i = 0; i < layerCount; i++) {
      DecoderLayer layer = layers.get(i);
      try (NDManager scope = home.newSubManager()) {
        h.attach(scope); // the layer's input dies with the layer
        NDArray normed = layer.inputNorm().forward(h);
        NDArray mixed = layer.mixer().forward(normed);
        NDArray out = layer.forwardMixed(h, mixed);
        probe.visit(i, h, normed, mixed, out);
        out.attach(home);
        h = out;
      }
    }
    h.close();
  }

  /** An incremental pass continuing {@code state}'s slots: ids (B, T) → hidden states (B, T, hidden). */
  public NDArray decode(NDArray ids, DecodeStep step, DecodeState state) {
    NDArray h = embed.forward(ids); // (B, T, D)
    for (int i = 0; i < layers.size(); i++) {
      h = layers.get(i).decode(h, step, state.cache(i));
    }
    return norm.forward(h);
  }

  /** Children named "0", "1", ... so parameters read {@code layers.3.mlp.up_proj.weight}. */
  private static final class Stack extends Module {
    Stack(List<DecoderLayer> layers) {
      for (int i = 0; i < layers.size(); i++) {
        registerChild(Integer.toString(i), layers.get(i));
      }
    }
  }
}
