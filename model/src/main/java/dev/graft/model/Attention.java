package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Causal self-attention with grouped key/value heads: MHA when kvHeads == heads, MQA when
 * kvHeads == 1, GQA in between. Decoding caches keys and values ({@link KvCache}).
 */
public final class Attention extends Mixer {

  private final int kvHeads;
  private final AttentionCore core;
  private final Linear q;
  private final Linear k;
  private final Linear v;
  private final Linear o;

  public Attention(LlamaConfig config, Linear q, Linear k, Linear v, Linear o, RotaryEmbedding rope) {
    this.kvHeads = config.numKeyValueHeads();
    this.core = new AttentionCore(config.numAttentionHeads(), config.headDim(), rope);
    this.q = registerChild("q_proj", q);
    this.k = registerChild("k_proj", k);
    this.v = registerChild("v_proj", v);
    this.o = registerChild("o_proj", o);
  }

  public int kvHeads() {
    return kvHeads;
  }

  /** The shared arithmetic (heads, head size, rotary tables), for mixers derived from this one. */
  public AttentionCore core() {
    return core;
  }

  public Linear q() {
    return q;
  }

  public Linear k() {
    return k;
  }

  public Linear v() {
    return v;
  }

  public Linear o() {
    return o;
  }

  @Override
  public NDArray forward(NDArray x) {
    return core.attend(x, q, k, v, o, kvHeads);
  }

  @Override
  public LayerCache newCache(int slots, int context, NDManager manager) {
    return core.newCache(slots, context, kvHeads, manager);
  }

  @Override
  public NDArray decode(NDArray x, DecodeStep step, LayerCache cache) {
    return core.decode(x, step, (KvCache) cache, q, k, v, o, kvHeads);
  }
}
