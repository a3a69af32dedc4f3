package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;

/**
 * The arithmetic of causal grouped-query attention, given the projection weights: shared by
 * {@link Attention} and by retrofit mixers that compute their key/value weights on the fly.
 * Query head h reads key/value head h / (heads / kvHeads), as in Hugging Face's {@code repeat_kv}.
 */
public record AttentionCore(int heads, int headDim, RotaryEmbedding rope) {

  /**
   * @param x (B, T, D) input whose first token is at {@code startPos}
   * @param kw key projection (kvHeads·headDim, D); {@code vw} likewise
   * @param state decode-cache slot, or null for a full pass
   * @return (B, T, D) after the output projection {@code ow}
   */
  public NDArray attend(NDArray x, int startPos, DecodeCache.Slot state, NDArray qw, NDArray kw,
      NDArray vw, NDArray ow, int kvHeads) {
    Shape s = x.getShape();
    long b = s.get(0);
    long t = s.get(1);
    NDArray qh = rope.apply(split(linear(x, qw), b, t, heads), startPos); // (B, H, T, hd)
    NDArray kh = rope.apply(split(linear(x, kw), b, t, kvHeads), startPos); // (B, KV, T, hd)
    NDArray vh = split(linear(x, vw), b, t, kvHeads); // (B, KV, T, hd)
    if (state != null) {
      NDArray[] past = state.get();
      if (past.length == 2) {
        kh = NDArrays.concat(new NDList(past[0], kh), 2); // (B, KV, S, hd)
        vh = NDArrays.concat(new NDList(past[1], vh), 2);
      }
      state.set(kh, vh);
    }
    long sLen = kh.getShape().get(2);
    int group = heads / kvHeads;
    NDArray qg = qh.reshape(b, kvHeads, group, t, headDim); // (B, KV, G, T, hd)
    NDArray kt = kh.expandDims(2).transpose(0, 1, 2, 4, 3); // (B, KV, 1, hd, S)
    NDArray scores = Scalars.div(qg.matMul(kt), (float) Math.sqrt(headDim)); // (B, KV, G, T, S)
    if (t > 1) {
      scores = scores.add(causalMask(x, t, sLen));
    }
    NDArray out = scores.softmax(4).matMul(vh.expandDims(2)); // (B, KV, G, T, hd)
    out = out.reshape(b, heads, t, headDim).transpose(0, 2, 1, 3).reshape(b, t, (long) heads * headDim);
    return linear(out, ow); // (B, T, D)
  }

  private NDArray split(NDArray proj, long b, long t, int n) {
    return proj.reshape(b, t, n, headDim).transpose(0, 2, 1, 3); // (B, n, T, hd)
  }

  private static NDArray linear(NDArray x, NDArray w) {
    return x.getNDArrayInternal().linear(x, w, null).singletonOrThrow();
  }

  /** Additive mask (T, S): query i (absolute position S - T + i) sees keys j <= S - T + i. */
  private static NDArray causalMask(NDArray like, long t, long s) {
    float[] m = new float[(int) (t * s)];
    long offset = s - t;
    for (int i = 0; i < t; i++) {
      for (long j = offset + i + 1; j < s; j++) {
        m[(int) (i * s + j)] = Float.NEGATIVE_INFINITY;
      }
    }
    return like.getManager().create(m, new Shape(t, s));
  }
}
