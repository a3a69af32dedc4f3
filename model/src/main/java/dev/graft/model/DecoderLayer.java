package dev.graft.model;

import ai.djl.ndarray.NDArray;

/** One pre-norm decoder block: {@code h = x + mixer(norm1(x)); out = h + mlp(norm2(h))}. */
public final class DecoderLayer extends Module {

  private final RmsNorm inputNorm;
  private final RmsNorm postNorm;
  private final FeedForward mlp;

  public DecoderLayer(Mixer mixer, RmsNorm inputNorm, RmsNorm postNorm, FeedForward mlp) {
    this.inputNorm = registerChild("input_layernorm", inputNorm);
    registerChild("self_attn", mixer);
    this.postNorm = registerChild("post_attention_layernorm", postNorm);
    this.mlp = registerChild("mlp", mlp);
  }

  /** The current mixer; a retrofit swaps it with {@link #replaceMixer}. */
  public Mixer mixer() {
    return (Mixer) children().get("self_attn");
  }

  public Mixer replaceMixer(Mixer replacement) {
    return (Mixer) replaceChild("self_attn", replacement);
  }

  /** The norm before the mixer. */
  public RmsNorm inputNorm() {
    return inputNorm;
  }

  /** The norm before the feed-forward block. */
  public RmsNorm postNorm() {
    return postNorm;
  }

  public FeedForward mlp() {
    return mlp;
  }

  /** A full causal pass over x (B, T, hidden). */
  public NDArray forward(NDArray x) {
    return forwardNormed(x, inputNorm.forward(x));
  }

  /**
   * {@link #forward} given {@code normed}, the layer's input after its attention norm
   * ({@code inputNorm().forward(x)}): for a caller that keeps the mixer's input as well.
   */
  public NDArray forwardNormed(NDArray x, NDArray normed) {
    return forwardMixed(x, mixer().forward(normed));
  }

  /**
   * The rest of {@link #forward} given {@code mixed}, the mixer's output on the normed input: the
   * residual add and the feed-forward block, for a caller that keeps the mixer's output as well.
   */
  public NDArray forwardMixed(NDArray x, NDArray mixed) {
    NDArray h = x.add(mixed);
    return h.add(mlp.forward(postNorm.forward(h)));
  }

  /** An incremental pass (see {@link Mixer#decode}); {@code cache} is this layer's. */
  public NDArray decode(NDArray x, DecodeStep step, LayerCache cache) {
    NDArray h = x.add(mixer().decode(inputNorm.forward(x), step, cache));
    return h.add(mlp.forward(postNorm.forward(h)));
  }
}
