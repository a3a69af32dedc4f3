package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * The arithmetic of gated linear attention (the Mamba-2 / GLA family) with grouped heads: per
 * query head h and token t, with C_t (N) the head's query, B_t (N) and x_t (hd) its group's key
 * and value, and a_t ∈ (0, 1) the head's decay,
 *
 * <pre>
 *   S_t = a_t · S_{t−1} + B_t x_tᵀ      (N × hd)
 *   y_t = C_tᵀ S_t                      (hd)
 * </pre>
 *
 * <p>Two forms compute the same outputs and final state: {@link #chunked} (training, full
 * passes, prefill) runs within each chunk of L tokens the quadratic form
 * {@code y_i = Σ_{j≤i} exp(c_i − c_j)·(C_i·B_j)·x_j} with c the cumulative log-decay, and passes
 * the state from chunk to chunk; {@link #step} (generation) advances the state by one token,
 * with memory that does not grow with the sequence. Both are plain differentiable array ops.
 *
 * @param heads H query heads (one state and one decay each)
 * @param kvHeads heads of B and x, each shared by H / kvHeads query heads as in GQA
 * @param stateSize N, the length of C and B
 * @param headDim hd, the length of x
 * @param chunk L, tokens per chunk of the parallel form
 */
public record GatedLinearAttention(int heads, int kvHeads, int stateSize, int headDim, int chunk) {

  public GatedLinearAttention {
    if (heads < 1 || kvHeads < 1 || heads % kvHeads != 0 || stateSize < 1 || headDim < 1 || chunk < 1) {
      throw new IllegalArgumentException("gated linear attention needs heads (" + heads + ") a multiple of"
          + " kv heads (" + kvHeads + "), and state size (" + stateSize + "), head dim (" + headDim
          + ") and chunk (" + chunk + ") >= 1");
    }
  }

  /** Outputs and the state after the last token. */
  public record Result(NDArray y, NDArray state) {}

  private int group() {
    return heads / kvHeads;
  }

  /**
   * The parallel form over T tokens, chunk by chunk.
   *
   * @param c (B, H, T, N) queries (already scaled)
   * @param b (B, KV, T, N) keys
   * @param x (B, KV, T, hd) values
   * @param logDecay (B, H, T) log a_t, &le; 0
   * @param state (B, H, N, hd) the state before the first token, or null for zeros
   * @return y (B, H, T, hd) and the state after token T
   */
  public Result chunked(NDArray c, NDArray b, NDArray x, NDArray logDecay, NDArray state) {
    long batch = c.getShape().get(0);
    long t = c.getShape().get(2);
    int g = group();
    NDArray s = state == null ? null : state.reshape(batch, kvHeads, g, stateSize, headDim); // (B, KV, G, N, hd)
    NDList ys = new NDList();
    for (long from = 0; from < t; from += chunk) {
      long to = Math.min(t, from + chunk);
      long len = to - from;
      NDIndex at = new NDIndex(":, :, {}:{}", from, to);
      NDArray ci = c.get(at).reshape(batch, kvHeads, g, len, stateSize); // (B, KV, G, L, N)
      NDArray bi = b.get(at).expandDims(2); // (B, KV, 1, L, N)
      NDArray xi = x.get(at).expandDims(2); // (B, KV, 1, L, hd)
      NDArray gi = logDecay.get(at).reshape(batch, kvHeads, g, len); // (B, KV, G, L)
      NDArray cum = gi.matMul(upperOnes(gi.getManager(), len)); // (B, KV, G, L): c_i = Σ_{j≤i} g_j
      NDArray ci1 = cum.expandDims(4); // (B, KV, G, L, 1)
      NDArray decay = ci1.sub(cum.expandDims(3)).add(causal(gi.getManager(), len)).exp(); // (B, KV, G, L, L)
      NDArray scores = ci.matMul(bi.transpose(0, 1, 2, 4, 3)).mul(decay); // (B, KV, G, L, L)
      NDArray y = scores.matMul(xi); // (B, KV, G, L, hd)
      NDArray total = cum.get(new NDIndex(":, :, :, {}:", len - 1)); // (B, KV, G, 1): c_L
      if (s != null) {
        y = y.add(ci.matMul(s).mul(ci1.exp())); // (B, KV, G, L, hd): exp(c_i)·C_i S_0
      }
      NDArray weights = total.sub(cum).exp().expandDims(4); // (B, KV, G, L, 1): exp(c_L − c_j)
      NDArray added = bi.mul(weights).transpose(0, 1, 2, 4, 3).matMul(xi); // (B, KV, G, N, hd)
      NDArray carried = total.exp().expandDims(4); // (B, KV, G, 1, 1)
      s = s == null ? added : s.mul(carried).add(added);
      ys.add(y);
    }
    NDArray y = ys.size() == 1 ? ys.get(0) : NDArrays.concat(ys, 3); // (B, KV, G, T, hd)
    return new Result(y.reshape(batch, heads, t, headDim), s.reshape(batch, heads, stateSize, headDim));
  }

  /**
   * The recurrent form: one token per row.
   *
   * @param c (B, H, N) queries (already scaled)
   * @param b (B, KV, N) keys
   * @param x (B, KV, hd) values
   * @param logDecay (B, H) log a_t
   * @param state (B, H, N, hd) the state before the token
   * @return y (B, H, hd) and the state after the token
   */
  public Result step(NDArray c, NDArray b, NDArray x, NDArray logDecay, NDArray state) {
    long batch = c.getShape().get(0);
    int g = group();
    NDArray outer = b.expandDims(3).matMul(x.expandDims(2)).expandDims(2); // (B, KV, 1, N, hd)
    NDArray a = logDecay.exp().reshape(batch, kvHeads, g, 1, 1); // (B, KV, G, 1, 1)
    NDArray s = state.reshape(batch, kvHeads, g, stateSize, headDim).mul(a).add(outer); // (B, KV, G, N, hd)
    NDArray y = c.reshape(batch, kvHeads, g, 1, stateSize).matMul(s); // (B, KV, G, 1, hd)
    return new Result(y.reshape(batch, heads, headDim), s.reshape(batch, heads, stateSize, headDim));
  }

  /** (L, L) with ones where row j &le; column i: {@code g @ it} is the inclusive cumulative sum. */
  private static NDArray upperOnes(NDManager manager, long len) {
    float[] m = new float[(int) (len * len)];
    for (int j = 0; j < len; j++) {
      for (int i = j; i < len; i++) {
        m[(int) (j * len + i)] = 1;
      }
    }
    return manager.create(m, new Shape(len, len));
  }

  /** (L, L) additive: 0 where j &le; i, −∞ above the diagonal (so exp gives 0 there, not ∞). */
  private static NDArray causal(NDManager manager, long len) {
    float[] m = new float[(int) (len * len)];
    for (int i = 0; i < len; i++) {
      for (int j = i + 1; j < len; j++) {
        m[(int) (i * len + j)] = Float.NEGATIVE_INFINITY;
      }
    }
    return manager.create(m, new Shape(len, len));
  }
}
