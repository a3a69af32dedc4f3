package dev.graft.model;

import ai.djl.ndarray.NDArray;

/**
 * The token-mixing sublayer of a decoder layer ({@code self_attn}). Attention is one mixer; a
 * retrofit may put another in its place (linear attention, an interpolation between two mixers)
 * under the same child name, so the surrounding layer and the checkpoint names do not change.
 */
public abstract class Mixer extends Module {

  /**
   * Mixes x of shape (B, T, hidden) whose first token is at absolute position {@code startPos}.
   *
   * @param state this layer's slot of a decode cache, or null for a full forward pass
   * @return (B, T, hidden)
   */
  public abstract NDArray forward(NDArray x, int startPos, DecodeCache.Slot state);
}
