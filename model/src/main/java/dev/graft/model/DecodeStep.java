package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * One incremental call of {@link LlamaModel#decode}: which slot each row continues, at which
 * position, with how many real tokens. Row b carries T tokens; the first {@code length(b)} are
 * the next tokens of slot {@code slot(b)}, starting at position {@code start(b)} (the slot's
 * length so far), the rest are padding.
 *
 * <p>The index arrays that every layer needs (rotary positions, cache rows, the causal mask) are
 * built once per call, on first use, under the call's manager, and shared by all layers.
 * Padding tokens take the position of their row's last real token, write to a scratch row that
 * no real token reads, and attend like that token, so no layer ever sees a NaN from them.
 */
public final class DecodeStep {

  private final int[] slots;
  private final int[] starts;
  private final int[] lengths;
  private final int tokens;
  private final int capacity; // slots of the state
  private final int context; // positions per slot
  private final NDManager manager;
  private final int span;
  private NDArray positions;
  private NDIndex writeRows;
  private NDIndex readRows;
  private NDArray mask;
  private RotaryEmbedding rotated; // the rotary table the rotations below were made from
  private NDArray[] rotations;

  DecodeStep(int[] slots, int[] starts, int[] lengths, int tokens, int capacity, int context,
      NDManager manager) {
    this.slots = slots;
    this.starts = starts;
    this.lengths = lengths;
    this.tokens = tokens;
    this.capacity = capacity;
    this.context = context;
    this.manager = manager;
    int s = 0;
    for (int b = 0; b < slots.length; b++) {
      s = Math.max(s, starts[b] + lengths[b]);
    }
    this.span = s;
  }

  /** Rows (B). */
  public int rows() {
    return slots.length;
  }

  /** Tokens per row (T), padding included. */
  public int tokens() {
    return tokens;
  }

  public int slot(int row) {
    return slots[row];
  }

  /** Position of row's first token. */
  public int start(int row) {
    return starts[row];
  }

  /** Real tokens of row, in [1, T]. */
  public int length(int row) {
    return lengths[row];
  }

  /** Positions per slot of the state this step belongs to. */
  public int context() {
    return context;
  }

  /** S: the longest slot after this step, start + length over the rows. */
  public int span() {
    return span;
  }

  /** Where per-call arrays live. */
  public NDManager manager() {
    return manager;
  }

  /** (B, T) int64: each token's absolute position. */
  public NDArray positions() {
    if (positions == null) {
      long[] p = new long[slots.length * tokens];
      for (int b = 0; b < slots.length; b++) {
        for (int i = 0; i < tokens; i++) {
          p[b * tokens + i] = position(b, i);
        }
      }
      positions = manager.create(p, new Shape(slots.length, tokens));
    }
    return positions;
  }

  /**
   * (B·T) rows of a slot-major buffer of {@code capacity·context + 1} rows where each token is
   * stored: row {@code slot·context + position}, or the scratch row {@code capacity·context} for
   * padding.
   */
  public NDIndex writeRows() {
    if (writeRows == null) {
      long[] w = new long[slots.length * tokens];
      for (int b = 0; b < slots.length; b++) {
        for (int i = 0; i < tokens; i++) {
          w[b * tokens + i] = i < lengths[b] ? (long) slots[b] * context + starts[b] + i
              : (long) capacity * context;
        }
      }
      writeRows = new NDIndex("{}", manager.create(w));
    }
    return writeRows;
  }

  /** (B, S) rows of the first {@link #span()} positions of each row's slot. */
  public NDIndex readRows() {
    if (readRows == null) {
      long[] r = new long[slots.length * span];
      for (int b = 0; b < slots.length; b++) {
        for (int j = 0; j < span; j++) {
          r[b * span + j] = (long) slots[b] * context + j;
        }
      }
      readRows = new NDIndex("{}", manager.create(r, new Shape(slots.length, span)));
    }
    return readRows;
  }

  /**
   * (B, 1, 1, T, S) additive causal mask, broadcast over heads: 0 where token i of row b may see
   * position j (j &le; its own position), −∞ elsewhere, including past the row's slot length.
   */
  public NDArray attentionMask() {
    if (mask == null) {
      float[] m = new float[slots.length * tokens * span];
      for (int b = 0; b < slots.length; b++) {
        for (int i = 0; i < tokens; i++) {
          int own = position(b, i);
          for (int j = own + 1; j < span; j++) {
            m[(b * tokens + i) * span + j] = Float.NEGATIVE_INFINITY;
          }
        }
      }
      mask = manager.create(m, new Shape(slots.length, 1, 1, tokens, span));
    }
    return mask;
  }

  /**
   * Whether attention needs {@link #attentionMask()}: false for a single-token step in which every
   * row's token is its slot's newest (start + 1 = span), so every cached position it reads is visible.
   */
  public boolean masked() {
    if (tokens != 1) {
      return true;
    }
    for (int b = 0; b < slots.length; b++) {
      if (starts[b] + 1 != span) {
        return true;
      }
    }
    return false;
  }

  /**
   * The first slot when the rows continue consecutive slots {@code s, s+1, ...} in order (their
   * cached keys are then one slice of the buffer, read without a copy), else −1.
   */
  public int firstOfConsecutiveSlots() {
    for (int b = 1; b < slots.length; b++) {
      if (slots[b] != slots[0] + b) {
        return -1;
      }
    }
    return slots[0];
  }

  /**
   * For a single-token step: each row's rotary embedding as a matrix, (B, hd, hd), so that
   * {@code x · R[b]} rotates a head vector x of row b to its position; index 0 is scaled by
   * {@code scale} (queries carry attention's 1/√hd), index 1 is not (keys). Made once per step
   * from {@code rope} itself (rotating the identity, so any frequency scaling is included) and
   * shared by every layer: two matrix products per layer replace the per-layer table gathers.
   */
  NDArray[] rotations(RotaryEmbedding rope, int headDim, float scale) {
    if (tokens != 1) {
      throw new IllegalStateException("rotation matrices are for single-token steps, this one has " + tokens);
    }
    if (rotations == null || rotated != rope) {
      long b = slots.length;
      NDArray eye = manager.eye(headDim).reshape(1, headDim, 1, headDim).broadcast(b, headDim, 1, headDim);
      NDArray r = rope.applyAt(eye, positions()).reshape(b, headDim, headDim); // (B, hd, hd): row i = rope(e_i)
      rotations = new NDArray[] {Scalars.mul(r, scale), r};
      rotated = rope;
    }
    return rotations;
  }

  /** Position of token i of row b; padding repeats the last real token's. */
  private int position(int b, int i) {
    return starts[b] + Math.min(i, lengths[b] - 1);
  }
}
