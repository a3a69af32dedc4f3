package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * Attention's {@link LayerCache}: preallocated keys and values (after rotary) for every slot.
 * Keys are one (slots·context + 1, kvHeads·headDim) matrix whose row {@code slot·context + p}
 * holds the slot's key at position p, likewise values; the last row takes padding tokens' writes.
 * A step writes its new rows in place (one index-put per buffer) and gathers the first S rows of
 * each of its slots; rows past a slot's length hold stale keys that the causal mask removes
 * exactly.
 *
 * <p>A single-token step (what a sampler runs for every new token) reads a slice of the buffer
 * in place when its rows are consecutive slots, and projects queries, keys and values with one
 * matrix: the three projections side by side, joined once per cache (a cache is only valid for
 * the weights that made it).
 */
public final class KvCache implements LayerCache {

  private final int kvHeads;
  private final int headDim;
  private final int context;
  private final NDArray keys;
  private final NDArray values;
  private final NDArray keySlots; // (slots, context, KV, hd): a view of keys without the scratch row
  private final NDArray valueSlots;
  private final NDManager manager;
  private NDArray[] fusedFrom; // the (q, k, v) weights and biases fused was joined from
  private NDList fused; // the joined weight and bias, owned here
  private Linear fusedLinear;
  private List<Object> fusedStates; // the weight transforms' states fused was joined at

  KvCache(int slots, int context, int kvHeads, int headDim, NDManager manager) {
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.context = context;
    this.manager = manager;
    Shape shape = new Shape((long) slots * context + 1, (long) kvHeads * headDim);
    this.keys = manager.zeros(shape);
    this.values = manager.zeros(shape);
    NDIndex real = new NDIndex(":{}", (long) slots * context);
    this.keySlots = keys.get(real).reshape(slots, context, kvHeads, headDim);
    this.valueSlots = values.get(real).reshape(slots, context, kvHeads, headDim);
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

  /**
   * The query, key and value projections as one layer of (H·hd + 2·KV·hd, D) weights (and their
   * joined biases, when any has one), joined on first use and again only if other arrays are
   * passed.
   */
  Linear fused(Linear q, Linear k, Linear v) {
    NDArray[] from = {q.weight(), k.weight(), v.weight(), q.bias(), k.bias(), v.bias()};
    List<Object> states = Arrays.asList(state(q), state(k), state(v));
    if (fused == null || !sameArrays(fusedFrom, from) || !states.equals(fusedStates)) {
      if (fused != null) {
        fused.close();
      }
      NDArray w;
      try (NDManager scratch = manager.newSubManager()) { // transformed weights, joined once
        w = NDArrays.concat(new NDList(q.effectiveWeight(scratch), k.effectiveWeight(scratch),
            v.effectiveWeight(scratch)), 0);
        w.attach(manager);
      }
      NDArray b = from[3] == null && from[4] == null && from[5] == null ? null
          : NDArrays.concat(new NDList(biasOrZeros(from[3], from[0]), biasOrZeros(from[4], from[1]),
              biasOrZeros(from[5], from[2])), 0);
      if (b != null) {
        b.attach(manager);
      }
      fused = new NDList(w);
      if (b != null) {
        fused.add(b);
      }
      fusedLinear = new Linear(w, b);
      fusedFrom = from;
      fusedStates = states;
    }
    return fusedLinear;
  }

  private static Object state(Linear p) {
    return p.weightTransform() == null ? null : p.weightTransform().state();
  }

  private NDArray biasOrZeros(NDArray bias, NDArray weight) {
    return bias != null ? bias : manager.zeros(new Shape(weight.getShape().get(0)));
  }

  /** Whether each array is the very same (not equal-valued) array, nulls matching nulls. */
  private static boolean sameArrays(NDArray[] a, NDArray[] b) {
    for (int i = 0; i < a.length; i++) {
      if (a[i] != b[i]) {
        return false;
      }
    }
    return true;
  }

  /**
   * Stores a single-token step's keys and values, each (B, KV·hd): one row by a basic slice (one
   * engine call) at batch 1, else an index-put.
   */
  void writeOne(DecodeStep step, NDArray k, NDArray v) {
    if (step.rows() == 1) {
      long row = (long) step.slot(0) * context + step.start(0);
      NDIndex at = new NDIndex("{}:{}", row, row + 1);
      keys.set(at, k);
      values.set(at, v);
      return;
    }
    keys.set(step.writeRows(), k);
    values.set(step.writeRows(), v);
  }

  /** For a single-token step: the first S cached keys of each row's slot, transposed, (B, KV, hd, S). */
  NDArray keysTransposed(DecodeStep step) {
    return slotRows(keySlots, keys, step).transpose(0, 2, 3, 1);
  }

  /** For a single-token step: the first S cached values of each row's slot, (B, KV, S, hd). */
  NDArray valuesOne(DecodeStep step) {
    return slotRows(valueSlots, values, step).transpose(0, 2, 1, 3);
  }

  /** (B, S, KV, hd): a view when the rows are consecutive slots, else a gather. */
  private NDArray slotRows(NDArray slotView, NDArray buffer, DecodeStep step) {
    int first = step.firstOfConsecutiveSlots();
    if (first >= 0) {
      return slotView.get(step.manager(), new NDIndex("{}:{}, :{}", first, first + step.rows(), step.span()));
    }
    return buffer.get(step.manager(), step.readRows()).reshape(step.rows(), step.span(), kvHeads, headDim);
  }

  private NDArray gather(NDArray buffer, DecodeStep step) {
    NDArray rows = buffer.get(step.manager(), step.readRows()); // (B, S, KV·hd)
    return rows.reshape(step.rows(), step.span(), kvHeads, headDim).transpose(0, 2, 1, 3);
  }
}
