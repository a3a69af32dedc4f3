package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.Attention;
import dev.graft.model.AttentionCore;
import dev.graft.model.DecodeStep;
import dev.graft.model.LayerCache;
import dev.graft.model.Linear;
import dev.graft.model.Mixer;
import java.util.Arrays;

/**
 * The teacher's attention seeing, from query position i, only keys at positions j with
 * {@code i − W_eff < j ≤ i} or {@code j < S} (sinks), W_eff shrinking from the whole context at
 * α = 0 (the teacher's causal attention, computed by the very same code) to W at α = 1. The
 * projections are the teacher's, under the same names; the mixer adds no parameters.
 *
 * <p>Decoding keeps a bounded cache ({@link WindowCache}) of at most W_eff + S positions per slot:
 * the sinks, then a ring buffer of the last W_eff positions. A decode state is made for one α (a
 * cache made at a wider window cannot serve a narrower one's mask, nor the reverse); when W_eff
 * covers the whole context of the state the layer uses the teacher's full key/value cache.
 */
public final class WindowMixer extends Mixer implements InterpolatedMixer {

  private final AttentionCore core;
  private final int kvHeads;
  private final int window;
  private final int sinks;
  private final int maxPositions;
  private final Linear q;
  private final Linear k;
  private final Linear v;
  private final Linear o;
  private double alpha;

  /**
   * @param attention the teacher's layer, whose projections this mixer takes over
   * @param maxPositions T_max, the teacher's context: the effective window at α = 0
   */
  public WindowMixer(Attention attention, int window, int sinks, int maxPositions) {
    if (window < 1 || sinks < 0 || window > maxPositions) {
      throw new IllegalArgumentException("window (" + window + ") must be in [1, " + maxPositions
          + "] and sinks (" + sinks + ") >= 0");
    }
    this.core = attention.core();
    this.kvHeads = attention.kvHeads();
    this.window = window;
    this.sinks = sinks;
    this.maxPositions = maxPositions;
    this.q = registerChild("q_proj", attention.q());
    this.k = registerChild("k_proj", attention.k());
    this.v = registerChild("v_proj", attention.v());
    this.o = registerChild("o_proj", attention.o());
  }

  @Override
  public double alpha() {
    return alpha;
  }

  @Override
  public void setAlpha(double alpha) {
    this.alpha = InterpolatedMixer.checkAlpha(alpha);
  }

  /** W_eff at the current α. */
  public int effectiveWindow() {
    return WindowRetrofit.effectiveWindow(maxPositions, window, alpha);
  }

  public int sinks() {
    return sinks;
  }

  @Override
  public NDArray forward(NDArray x) {
    long t = x.getShape().get(1);
    int w = effectiveWindow();
    if (w >= t) { // the window covers the sequence: the causal mask itself
      return core.attend(x, q, k, v, o, kvHeads);
    }
    return core.attendMasked(x, q, k, v, o, kvHeads, bandMask(x.getManager(), (int) t, w, sinks));
  }

  /** Additive (T, T): 0 where query i sees key j (j ≤ i and (i − j < w or j < sinks)), −∞ elsewhere. */
  static NDArray bandMask(NDManager manager, int t, int w, int sinks) {
    float[] m = new float[t * t];
    for (int i = 0; i < t; i++) {
      for (int j = 0; j < t; j++) {
        if (!visible(i, j, w, sinks)) {
          m[i * t + j] = Float.NEGATIVE_INFINITY;
        }
      }
    }
    return manager.create(m, new Shape(t, t));
  }

  static boolean visible(int query, int key, int w, int sinks) {
    return key <= query && (query - key < w || key < sinks);
  }

  @Override
  public LayerCache newCache(int slots, int context, NDManager manager) {
    int w = effectiveWindow();
    if (w >= context) { // never binds within this state: the teacher's own cache and decode path
      return new FullCache(core.newCache(slots, context, kvHeads, manager), alpha);
    }
    return new WindowCache(slots, Math.min(context, w + sinks), w, sinks, kvHeads, core.headDim(), alpha, manager);
  }

  private record FullCache(dev.graft.model.KvCache kv, double alpha) implements LayerCache {
    @Override
    public long bytesPerSlot() {
      return kv.bytesPerSlot();
    }
  }

  @Override
  public NDArray decode(NDArray x, DecodeStep step, LayerCache cache) {
    double made = cache instanceof FullCache f ? f.alpha : ((WindowCache) cache).alpha;
    if (made != alpha) {
      throw new IllegalStateException("the decode cache was made at alpha " + made + " but the layer is now at "
          + alpha + "; make a new decode state");
    }
    if (cache instanceof FullCache f) {
      return core.decode(x, step, f.kv, q, k, v, o, kvHeads);
    }
    WindowCache c = (WindowCache) cache;
    NDArray[] qkv = core.project(x, step, q, k, v, kvHeads);
    NDArray mask = c.prepare(step);
    NDArray keys = NDArrays.concat(new NDList(c.read(c.keys, step), qkv[1]), 2);
    NDArray values = NDArrays.concat(new NDList(c.read(c.values, step), qkv[2]), 2);
    NDArray out = core.attendTo(qkv[0], keys, values, mask, o, kvHeads);
    c.write(step, qkv[1], qkv[2]);
    return out;
  }

  /**
   * A windowed layer's {@link LayerCache}: per slot, {@code capacity = min(context, W_eff + S)}
   * rows of keys and values (after rotary) — position p &lt; S in row p, any later position in row
   * {@code S + (p − S) mod (capacity − S)} — and the position each row holds. A step attends to
   * the cached rows plus its own new tokens under the band mask, then stores its real tokens,
   * overwriting the oldest. A slot continues one sequence: a step starts at position 0 (a new
   * sequence), at the slot's length, or earlier as long as every position its window needs is
   * still cached.
   */
  static final class WindowCache implements LayerCache {

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
        if (start > lengths[slot]) {
          throw new IllegalStateException("slot " + slot + " holds " + lengths[slot]
              + " positions; a step cannot start at " + start);
        }
        int[] held = positions[slot];
        for (int c = 0; c < capacity; c++) {
          if (held[c] >= start) {
            held[c] = -1;
          }
        }
        lengths[slot] = start;
        int needFrom = Math.max(sinks, start - window + 1);
        int present = 0;
        for (int c = 0; c < capacity; c++) {
          if (held[c] >= 0 && (held[c] < sinks || held[c] >= needFrom)) {
            present++;
          }
        }
        if (present != Math.min(start, sinks) + Math.max(0, start - needFrom)) {
          throw new IllegalStateException("slot " + slot + " no longer caches the window of a step at position "
              + start + " (a windowed cache only keeps the last " + window + " positions)");
        }
        int len = step.length(r);
        for (int i = 0; i < t; i++) {
          int own = Math.min(i, len - 1); // padding attends like the row's last real token
          int query = start + own;
          int base = (r * t + i) * span;
          for (int c = 0; c < capacity; c++) {
            if (held[c] >= 0 && visible(query, held[c], window, sinks)) {
              m[base + c] = 0;
            }
          }
          for (int j = 0; j <= own; j++) {
            if (visible(query, start + j, window, sinks)) {
              m[base + capacity + j] = 0;
            }
          }
        }
      }
      return step.manager().create(m, new Shape(b, 1, 1, t, span));
    }

    /** Each row's slot's cached rows, (B, KV, capacity, hd). */
    NDArray read(NDArray buffer, DecodeStep step) {
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
}
