package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * The token-mixing sublayer of a decoder layer ({@code self_attn}). Attention is one mixer; a
 * retrofit may put another in its place (linear attention, an interpolation between two mixers)
 * under the same child name, so the surrounding layer and the checkpoint names do not change.
 *
 * <p>A mixer is written once and serves training and evaluation ({@link #forward}) as well as
 * incremental decoding ({@link #decode}): it brings its own kind of {@link LayerCache} (keys and
 * values for attention, a fixed-size state for a recurrent mixer), so the decoder and every role
 * that generates text decode any mixer the same way.
 */
public abstract class Mixer extends Module {

  /**
   * A full causal pass over x of shape (B, T, hidden) whose first token is at position 0.
   *
   * @return (B, T, hidden)
   */
  public abstract NDArray forward(NDArray x);

  /**
   * An empty cache of this mixer's kind for {@code slots} independent sequences of up to
   * {@code context} tokens each, whose arrays live under {@code manager}. Like any KV cache it is
   * valid for the mixer as it is now — its weights and, for a retrofit mixer, its α — and may
   * keep what it can compute once for them.
   */
  public abstract LayerCache newCache(int slots, int context, NDManager manager);

  /**
   * An incremental pass: row b of x (B, T, hidden) holds the next tokens of the sequence in slot
   * {@code step.slot(b)}, its first at position {@code step.start(b)}; only the first
   * {@code step.length(b)} are real, the rest padding. Reads what the slot cached before and
   * caches these tokens.
   *
   * @param cache made by this mixer's {@link #newCache}
   * @return (B, T, hidden); rows' padding positions hold unspecified finite values
   */
  public abstract NDArray decode(NDArray x, DecodeStep step, LayerCache cache);
}
