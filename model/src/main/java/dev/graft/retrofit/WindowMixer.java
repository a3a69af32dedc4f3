package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.Attention;
import dev.graft.model.AttentionCore;
import dev.graft.model.DecodeStep;
import dev.graft.model.KvCache;
import dev.graft.model.LayerCache;
import dev.graft.model.Linear;
import dev.graft.model.Mixer;

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

  private record FullCache(KvCache kv, double alpha) implements LayerCache {
    @Override
    public long bytesPerSlot() {
      return kv.bytesPerSlot();
    }
  }

  @Override
  public NDArray decode(NDArray x, DecodeStep step, LayerCache cache) {
    double made = cache instanceof FullCache f ? f.alpha : ((WindowCache) cache).alpha();
    if (made != alpha) {
      throw new IllegalStateException("the decode cache was made at alpha " + made + " but the layer is now at "
          + alpha + "; make a new decode state");
    }
    if (cache instanceof FullCache f) {
      return core.decode(x, step, f.kv, q, k, v, o, kvHeads);
    }
    WindowCache c = (WindowCache) cache;
    NDArray[] qkv = core.project(x, step, q, k, v, kvHeads);
    NDArray mask = c.prepare(step); // (B, 1, 1, T, capacity + T)
    NDArray[] cached = c.cached(step); // (B, KV, capacity, hd) each
    NDArray keys = NDArrays.concat(new NDList(cached[0], qkv[1]), 2); // (B, KV, capacity + T, hd)
    NDArray values = NDArrays.concat(new NDList(cached[1], qkv[2]), 2);
    NDArray out = core.attendTo(qkv[0], keys, values, mask, o, kvHeads);
    c.write(step, qkv[1], qkv[2]);
    return out;
  }
}
