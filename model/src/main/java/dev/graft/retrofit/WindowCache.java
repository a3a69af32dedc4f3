package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.DecodeStep;
import dev.graft.model.LayerCache;
import java.util.Arrays;

/**
 * A windowed layer's {@link LayerCache}: per slot, {@code capacity = min(context, W_eff + S)}
 * rows of keys and values (after rotary) — position p &lt; S in row p, any later position in row
 * {@code S + (p − S) mod (capacity − S)} — and the position each row holds. A step attends to
 * the cached rows plus its own new tokens under the band mask, then stores its real tokens,
 * overwriting the oldest. A slot continues one sequence: a step starts at position 0 (a new
 * sequence), at the slot's length, or earlier as long as every position its window needs is
 * still cached.
 */
final class WindowCache implements LayerCache {

  private final int capacity;
  private final int window;
  private final int sinks;
  private final int kvHeads;
  private final int headDim;
  private final double alpha;
  private final NDArray keys; // (slots·capacity, KV·hd)
  private final NDArray values;
  private final int[][] positions; // slot → row → position held, −1 for none
  private final int[] lengths; // slot → positions decoded so far

  WindowCache(int slots, int capacity, int window, int sinks, int kvHeads, int headDim, double alpha,
      NDManager manager) {
    this.capacity = capacity;
    this.window = window;
    this.sinks = sinks;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.alpha = alpha;
    Shape shape = new Shape((long) slots * capacity, (long) kvHeads * headDim);
    this.keys = manager.zeros(shape);
    this.values = manager.zeros(shape);
    this.positions = new int[slots][capacity];
    for (int[] p : positions) {
      Arrays.fill(p, -1);
    }
    this.lengths = new int[slots];
  }

  /** The α of the layer this cache was made for. */
  double alpha() {
    return alpha;
  }

  /** Rows per slot: W_eff + S, or the context if smaller. */
  int capacity() {
    return capacity;
  }

  @Override
  public long bytesPerSlot() {
    return 2L * capacity * kvHeads * headDim * Float.BYTES;
  }

  private int row(int position) {
    return position < sinks ? position : sinks + (position - sinks) % (capacity - sinks);
  }

  /**
   * Forgets positions at or past each row's start and checks that the step's window is cached;
   * returns the (B, 1, 1, T, capacity + T) additive mask over cached rows then new tokens.
   */
  NDArray prepare(DecodeStep step) {
    int b = step.rows();
    int t = step.tokens();
    int span = capacity + t;
    float[] m = new float[b * t * span];
    Arrays.fill(m, Float.NEGATIVE_INFINITY);
    for (int r = 0; r < b; r++) {
      int slot = step.slot(r);
      int start = step.start(r);
      continueAt(slot, start);
      int[] held = positions[slot];
      int len = step.length(r);
      for (int i = 0; i < t; i++) {
        int own = Math.min(i, len - 1); // padding attends like the row's last real token
        int query = start + own;
        int base = (r * t + i) * span;
        for (int c = 0; c < capacity; c++) {
          if (held[c] >= 0 && WindowMixer.visible(query, held[c], window, sinks)) {
            m[base + c] = 0;
          }
        }
        for (int j = 0; j <= own; j++) {
          if (WindowMixer.visible(query, start + j, window, sinks)) {
            m[base + capacity + j] = 0;
          }
        }
      }
    }
    return step.manager().create(m, new Shape(b, 1, 1, t, span));
  }

  /**
   * Forgets what {@code slot} holds at or past {@code start}, and checks that it still holds
   * every position a query at {@code start} sees.
   */
  private void continueAt(int slot, int start) {
    if (start > lengths[slot]) {
      throw new IllegalStateException("slot " + slot + " holds " + lengths[slot]
          + " positions; a step cannot start at " + start);
    }
    int[] held = positions[slot];
    int needFrom = Math.max(sinks, start - window + 1);
    int present = 0;
    for (int c = 0; c < capacity; c++) {
      if (held[c] >= start) {
        held[c] = -1;
      } else if (held[c] >= 0 && (held[c] < sinks || held[c] >= needFrom)) {
        present++;
      }
    }
    lengths[slot] = start;
    if (present != Math.min(start, sinks) + Math.max(0, start - needFrom)) {
      throw new IllegalStateException("slot " + slot + " no longer caches the window of a step at position "
          + start + " (a windowed cache only keeps the last " + window + " positions)");
    }
  }

  /** Each row's slot's cached keys and values, each (B, KV, capacity, hd). */
  NDArray[] cached(DecodeStep step) {
    return new NDArray[] {read(keys, step), read(values, step)};
  }

  private NDArray read(NDArray buffer, DecodeStep step) {
    long[] rows = new long[step.rows() * capacity];
    for (int r = 0; r < step.rows(); r++) {
      for (int c = 0; c < capacity; c++) {
        rows[r * capacity + c] = (long) step.slot(r) * capacity + c;
      }
    }
    NDArray got = buffer.get(step.manager(), new NDIndex("{}", step.manager().create(rows)));
    return got.reshape(step.rows(), capacity, kvHeads, headDim).transpose(0, 2, 1, 3);
  }

  /** Stores each row's real tokens, (B, KV, T, hd) keys and values, the latest into each row. */
  void write(DecodeStep step, NDArray k, NDArray v) {
    int t = step.tokens();
    long[] from = new long[step.rows() * capacity];
    long[] to = new long[from.length];
    int n = 0;
    for (int r = 0; r < step.rows(); r++) {
      int slot = step.slot(r);
      int start = step.start(r);
      int len = step.length(r);
      int first = Math.max(0, len - (capacity - sinks)); // earlier non-sink tokens would be overwritten
      for (int j = 0; j < len; j++) {
        int p = start + j;
        if (p >= sinks && j < first) {
          continue;
        }
        int c = row(p);
        from[n] = (long) r * t + j;
        to[n] = (long) slot * capacity + c;
        n++;
        positions[slot][c] = p;
      }
      lengths[slot] = start + len;
    }
    if (n == 0) {
      return;
    }
    NDManager mm = step.manager();
    NDIndex src = new NDIndex("{}", mm.create(Arrays.copyOf(from, n)));
    NDIndex dst = new NDIndex("{}", mm.create(Arrays.copyOf(to, n)));
    long rows = (long) step.rows() * t;
    keys.set(dst, k.transpose(0, 2, 1, 3).reshape(rows, (long) kvHeads * headDim).get(src));
    values.set(dst, v.transpose(0, 2, 1, 3).reshape(rows, (long) kvHeads * headDim).get(src));
  }
}
