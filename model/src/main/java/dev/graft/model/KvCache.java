package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Attention's {@link LayerCache}: preallocated keys and values (after rotary) for every slot.
 * Keys are one (slots·context + 1, kvHeads·headDim) matrix whose row {@code slot·context + p}
 * holds the slot's key at position p, likewise values; the last row takes padding tokens' writes.
 * A step writes its new rows in place (one index-put per buffer) and gathers the first S rows of
 * each of its slots; rows past a slot's length hold stale keys that the causal mask removes
 * exactly.
 */
public final class KvCache implements LayerCache {

  private final int kvHeads;
  private final int headDim;
  private final int context;
  private final NDArray keys;
  private final NDArray values;

  KvCache(int slots, int context, int kvHeads, int headDim, NDManager manager) {
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.context = context;
    Shape shape = new Shape((long) slots * context + 1, (long) kvHeads * headDim);
    this.keys = manager.zeros(shape);
    this.values = manager.zeros(shape);
  }

  /** Key/value heads per position. */
  public int kvHeads() {
    return kvHeads;
  }

  @Override
  public long bytesPerSlot() {
    return 2L * context * kvHeads * headDim * Float.BYTES;
  }

  /** Stores the step's keys and values, each (B, KV, T, hd). */
  void write(DecodeStep step, NDArray k, NDArray v) {
    keys.set(step.writeRows(), asRows(step, k));
    values.set(step.writeRows(), asRows(step, v));
  }

  /** (B, KV, T, hd) → (B·T, KV·hd), token-major as the buffer stores them. */
  private NDArray asRows(DecodeStep step, NDArray x) {
    long rows = (long) step.rows() * step.tokens();
    // One token per row (a decode step) is already in token-major order: no transpose needed.
    NDArray tokenMajor = step.tokens() == 1 ? x : x.transpose(0, 2, 1, 3);
    return tokenMajor.reshape(rows, (long) kvHeads * headDim);
  }

  /** The first S cached keys of each row's slot, (B, KV, S, hd). */
  NDArray keys(DecodeStep step) {
    return gather(keys, step);
  }

  /** The first S cached values of each row's slot, (B, KV, S, hd). */
  NDArray values(DecodeStep step) {
    return gather(values, step);
  }

  private NDArray gather(NDArray buffer, DecodeStep step) {
    NDArray rows = buffer.get(step.manager(), step.readRows()); // (B, S, KV·hd)
    return rows.reshape(step.rows(), step.span(), kvHeads, headDim).transpose(0, 2, 1, 3);
  }
}
