package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * The arithmetic of causal grouped-query attention, given the projections (weights and optional
 * biases; queries and outputs are heads·headDim wide, which need not be the hidden size): shared by
 * {@link Attention} and by retrofit mixers that compute their key/value weights on the fly, for
 * full passes and for incremental decoding alike. Query head h reads key/value head
 * h / (heads / kvHeads), as in Hugging Face's {@code repeat_kv}, by reshaping the query heads into
 * groups rather than repeating keys.
 */
public record AttentionCore(int heads, int headDim, RotaryEmbedding rope) {

  /**
   * A full causal pass.
   *
   * @param x (B, T, D) input whose first token is at position 0
   * @param q query projection (heads·headDim, D); {@code k} key projection (kvHeads·headDim, D),
   *     {@code v} likewise; {@code o} output projection (D, heads·headDim)
   * @return (B, T, D) after the output projection {@code o}
   */
  public NDArray attend(NDArray x, Linear q, Linear k, Linear v, Linear o, int kvHeads) {
    Shape s = x.getShape();
    long b = s.get(0);
    long t = s.get(1);
    NDArray qh = rope.apply(split(q.forward(x), b, t, heads), 0); // (B, H, T, hd)
    NDArray kh = rope.apply(split(k.forward(x), b, t, kvHeads), 0); // (B, KV, T, hd)
    NDArray vh = split(v.forward(x), b, t, kvHeads); // (B, KV, T, hd)
    NDArray mask = t > 1 ? causalMask(x, t) : null;
    return mix(qh, kh, vh, mask, b, t, kvHeads, o);
  }

  /**
   * {@link #attend} with a given additive mask in place of the causal one.
   *
   * @param mask (T, T): 0 where query i may see key j, −∞ elsewhere; every row must see at least
   *     one key
   */
  public NDArray attendMasked(NDArray x, Linear q, Linear k, Linear v, Linear o, int kvHeads, NDArray mask) {
    Shape s = x.getShape();
    long b = s.get(0);
    long t = s.get(1);
    NDArray qh = rope.apply(split(q.forward(x), b, t, heads), 0); // (B, H, T, hd)
    NDArray kh = rope.apply(split(k.forward(x), b, t, kvHeads), 0); // (B, KV, T, hd)
    NDArray vh = split(v.forward(x), b, t, kvHeads); // (B, KV, T, hd)
    return mix(qh, kh, vh, mask, b, t, kvHeads, o);
  }

  /**
   * Projects a decode step's tokens to queries, keys and values, rotated to their positions.
   *
   * @return (B, H, T, hd) queries, (B, KV, T, hd) keys and (B, KV, T, hd) values
   */
  public NDArray[] project(NDArray x, DecodeStep step, Linear q, Linear k, Linear v, int kvHeads) {
    long b = step.rows();
    long t = step.tokens();
    return new NDArray[] {rope.applyAt(split(q.forward(x), b, t, heads), step.positions()),
        rope.applyAt(split(k.forward(x), b, t, kvHeads), step.positions()), split(v.forward(x), b, t, kvHeads)};
  }

  /**
   * softmax(q kᵀ / √hd + mask) v, then the output projection: attention over keys and values
   * that a caller gathered itself (a bounded cache).
   *
   * @param qh (B, H, T, hd) queries; {@code kh} (B, KV, S, hd) keys, {@code vh} likewise
   * @param mask additive, broadcast to (B, KV, G, T, S)
   * @return (B, T, D)
   */
  public NDArray attendTo(NDArray qh, NDArray kh, NDArray vh, NDArray mask, Linear o, int kvHeads) {
    return mix(qh, kh, vh, mask, qh.getShape().get(0), qh.getShape().get(2), kvHeads, o);
  }

  /**
   * An incremental pass: caches the step's keys and values in {@code cache}, then attends from
   * each row's new tokens to its slot's cached positions.
   *
   * @param x (B, T, D), row b continuing slot {@code step.slot(b)}
   * @param cache made by {@link #newCache} with the same {@code kvHeads}
   * @return (B, T, D)
   */
  public NDArray decode(NDArray x, DecodeStep step, KvCache cache, Linear q, Linear k, Linear v,
      Linear o, int kvHeads) {
    if (cache.kvHeads() != kvHeads) {
      throw new IllegalStateException("the decode cache holds " + cache.kvHeads()
          + " key/value heads but the layer now has " + kvHeads + "; make a new decode state");
    }
    if (step.tokens() == 1) {
      return decodeOne(x, step, cache, q, k, v, o, kvHeads);
    }
    long b = step.rows();
    long t = step.tokens();
    NDArray qh = rope.applyAt(split(q.forward(x), b, t, heads), step.positions()); // (B, H, T, hd)
    NDArray kh = rope.applyAt(split(k.forward(x), b, t, kvHeads), step.positions()); // (B, KV, T, hd)
    NDArray vh = split(v.forward(x), b, t, kvHeads); // (B, KV, T, hd)
    cache.write(step, kh, vh);
    return mix(qh, cache.keys(step), cache.values(step), step.attentionMask(), b, t, kvHeads, o);
  }

  /**
   * {@link #decode} for one token per row, in as few engine calls as the arithmetic allows (at
   * batch 1 a step is dozens of tiny operations, each costing more in call overhead than in
   * arithmetic): one fused projection, rotary embedding as a product with the step's shared
   * rotation matrices (1/√hd folded into the queries'), cached keys read in place, and no mask
   * when every row sees its whole slot.
   */
  private NDArray decodeOne(NDArray x, DecodeStep step, KvCache cache, Linear qp, Linear kp,
      Linear vp, Linear o, int kvHeads) {
    long b = step.rows();
    long q = (long) heads * headDim;
    long kv = (long) kvHeads * headDim;
    NDList qkv = cache.fused(qp, kp, vp).forward(x).reshape(b, q + 2 * kv)
        .split(new long[] {q, q + kv}, 1); // (B, H·hd), (B, KV·hd), (B, KV·hd)
    NDArray[] rot = step.rotations(rope, headDim, (float) (1 / Math.sqrt(headDim))); // (B, hd, hd)
    NDArray qh = qkv.get(0).reshape(b, heads, headDim).matMul(rot[0]); // (B, H, hd), scaled
    NDArray kh = qkv.get(1).reshape(b, kvHeads, headDim).matMul(rot[1]); // (B, KV, hd)
    cache.writeOne(step, kh.reshape(b, kv), qkv.get(2));
    NDArray scores = qh.reshape(b, kvHeads, heads / kvHeads, headDim)
        .matMul(cache.keysTransposed(step)); // (B, KV, G, S)
    if (step.masked()) {
      scores = scores.add(step.attentionMask().reshape(b, 1, 1, step.span()));
    }
    NDArray out = scores.softmax(3).matMul(cache.valuesOne(step)); // (B, KV, G, hd)
    return o.forward(out.reshape(b, 1, q)); // (B, 1, D)
  }

  /** An empty key/value cache for {@code kvHeads} heads. */
  public KvCache newCache(int slots, int context, int kvHeads, NDManager manager) {
    return new KvCache(slots, context, kvHeads, headDim, manager);
  }

  /**
   * softmax(q kᵀ / √hd + mask) v, then the output projection.
   *
   * @param qh (B, H, T, hd) queries
   * @param kh (B, KV, S, hd) keys; {@code vh} likewise
   * @param mask additive, broadcast to (B, KV, G, T, S), or null for none
   */
  private NDArray mix(NDArray qh, NDArray kh, NDArray vh, NDArray mask, long b, long t, int kvHeads,
      Linear o) {
    int group = heads / kvHeads;
    NDArray qg = qh.reshape(b, kvHeads, group, t, headDim); // (B, KV, G, T, hd)
    NDArray kt = kh.expandDims(2).transpose(0, 1, 2, 4, 3); // (B, KV, 1, hd, S)
    NDArray scores = Scalars.div(qg.matMul(kt), (float) Math.sqrt(headDim)); // (B, KV, G, T, S)
    if (mask != null) {
      scores = scores.add(mask);
    }
    NDArray out = scores.softmax(4).matMul(vh.expandDims(2)); // (B, KV, G, T, hd)
    out = t == 1 ? out.reshape(b, 1, (long) heads * headDim) // one token: heads are already last
        : out.reshape(b, heads, t, headDim).transpose(0, 2, 1, 3).reshape(b, t, (long) heads * headDim);
    return o.forward(out); // (B, T, D)
  }

  private NDArray split(NDArray proj, long b, long t, int n) {
    return proj.reshape(b, t, n, headDim).transpose(0, 2, 1, 3); // (B, n, T, hd)
  }

  /** Additive mask (T, T): query i sees keys j &le; i. */
  private static NDArray causalMask(NDArray like, long t) {
    float[] m = new float[(int) (t * t)];
    for (int i = 0; i < t; i++) {
      for (long j = i + 1; j < t; j++) {
        m[(int) (i * t + j)] = Float.NEGATIVE_INFINITY;
      }
    }
    return like.getManager().create(m, new Shape(t, t));
  }
}
