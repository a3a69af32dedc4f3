package dev.graft.sampler;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.Attention;
import dev.graft.model.DecodeCache;
import dev.graft.model.DecoderLayer;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.model.RotaryEmbedding;
import dev.graft.model.Scalars;

/**
 * Batched incremental decoding for continuous batching: a preallocated key/value buffer per
 * layer with {@code slots} sequences of up to {@code max_position_embeddings} tokens each, and a
 * decode step that advances any subset of slots by one token in ONE batched forward pass, each
 * slot at its own position (per-row rotary positions, per-row length mask).
 *
 * <p>Layout: a layer's keys are one (slots·L, kvHeads·headDim) matrix whose row {@code s·L + p}
 * holds slot s's key at position p (post-rotary), likewise values. A step writes the new rows
 * in place (one index-put per buffer) and gathers rows {@code [0, maxLen)} of each active slot;
 * positions past a slot's length hold stale keys that the additive −∞ mask removes exactly.
 *
 * <p>Not thread-safe: one engine thread drives it. The buffers live under the model's manager;
 * close the decoder before the model.
 */
final class SlotDecoder implements AutoCloseable {

  private final LlamaModel model;
  private final LlamaConfig config;
  private final int slots;
  private final int context; // L: positions per slot
  private final int kvWidth; // kvHeads·headDim
  private final NDManager manager;
  private final NDArray[] keys; // per layer (slots·L, kvWidth)
  private final NDArray[] values;

  SlotDecoder(LlamaModel model, int slots) {
    this.model = model;
    this.config = model.config();
    this.slots = slots;
    this.context = config.maxPositionEmbeddings();
    this.kvWidth = config.numKeyValueHeads() * config.headDim();
    this.manager = model.manager().newSubManager();
    int layers = config.numHiddenLayers();
    this.keys = new NDArray[layers];
    this.values = new NDArray[layers];
    for (int l = 0; l < layers; l++) {
      keys[l] = manager.zeros(new Shape((long) slots * context, kvWidth));
      values[l] = manager.zeros(new Shape((long) slots * context, kvWidth));
    }
  }

  int slots() {
    return slots;
  }

  /**
   * Runs the prompt through the model from position 0 into {@code slot}'s buffer rows (whatever
   * they held before is overwritten or masked) and returns the logits after the last prompt
   * token, (vocab).
   */
  float[] prefill(int slot, int[] prompt) {
    int t = prompt.length;
    try (NDManager m = model.manager().newSubManager();
        DecodeCache cache = model.newCache(m)) {
      NDArray ids = m.create(toLongs(prompt), new Shape(1, t));
      NDArray logits = model.forward(ids, cache); // (1, T, V)
      long[] rows = new long[t];
      for (int p = 0; p < t; p++) {
        rows[p] = (long) slot * context + p;
      }
      NDArray rowIndex = m.create(rows);
      for (int l = 0; l < keys.length; l++) {
        NDArray[] kv = cache.slot(l).get(); // each (1, KV, T, hd)
        keys[l].set(new NDIndex("{}", rowIndex), asRows(kv[0], t));
        values[l].set(new NDIndex("{}", rowIndex), asRows(kv[1], t));
      }
      return logits.get(new NDIndex("0, {}", t - 1)).toFloatArray(); // (V)
    }
  }

  /**
   * One batched step: slot {@code slotIds[b]} reads its latest token {@code tokens[b]}, which sits
   * at {@code positions[b]} (the slot's length − 1), stores its key and value there and attends to
   * its rows {@code [0, positions[b]]}.
   *
   * @return the next-token logits of each row, (B, vocab)
   */
  float[][] decode(int[] slotIds, int[] tokens, int[] positions) {
    int b = slotIds.length;
    int maxLen = 0;
    for (int p : positions) {
      maxLen = Math.max(maxLen, p + 1);
    }
    try (NDManager m = model.manager().newSubManager()) {
      Step step = new Step(m, slotIds, positions, maxLen);
      NDArray h = model.backbone().embedding().forward(m.create(toLongs(tokens), new Shape(b, 1)));
      for (int l = 0; l < keys.length; l++) {
        DecoderLayer layer = model.layers().get(l);
        h = h.add(attend(step, l, (Attention) layer.mixer(), layer.inputNorm().forward(h)));
        h = h.add(layer.mlp().forward(layer.postNorm().forward(h))); // (B, 1, D)
      }
      NDArray logits = model.logits(model.backbone().norm().forward(h)); // (B, 1, V)
      float[] flat = logits.toFloatArray();
      int v = config.vocabSize();
      float[][] out = new float[b][];
      for (int i = 0; i < b; i++) {
        out[i] = java.util.Arrays.copyOfRange(flat, i * v, (i + 1) * v);
      }
      return out;
    }
  }

  /** Per-step index tensors, built once and shared by every layer. */
  private final class Step {
    final NDArray positions; // (B, 1) int64
    final NDIndex writeRows; // (B) rows s·L + pos
    final NDIndex readRows; // (B, maxLen) rows s·L + j
    final NDArray mask; // (B, 1, 1, 1, maxLen): 0 where j <= pos, else −∞
    final int batch;
    final int maxLen;

    Step(NDManager m, int[] slotIds, int[] pos, int maxLen) {
      this.batch = slotIds.length;
      this.maxLen = maxLen;
      long[] write = new long[batch];
      long[] read = new long[batch * maxLen];
      float[] mask = new float[batch * maxLen];
      for (int i = 0; i < batch; i++) {
        long base = (long) slotIds[i] * context;
        write[i] = base + pos[i];
        for (int j = 0; j < maxLen; j++) {
          read[i * maxLen + j] = base + j;
          mask[i * maxLen + j] = j <= pos[i] ? 0f : Float.NEGATIVE_INFINITY;
        }
      }
      this.positions = m.create(toLongs(pos), new Shape(batch, 1));
      this.writeRows = new NDIndex("{}", m.create(write));
      this.readRows = new NDIndex("{}", m.create(read, new Shape(batch, maxLen)));
      this.mask = m.create(mask, new Shape(batch, 1, 1, 1, maxLen));
    }
  }

  /** Grouped-query attention of one new token per row over its slot's cached rows. */
  private NDArray attend(Step s, int layer, Attention attn, NDArray x) {
    int heads = config.numAttentionHeads();
    int kvHeads = config.numKeyValueHeads();
    int hd = config.headDim();
    long b = s.batch;
    RotaryEmbedding rope = attn.core().rope();
    NDArray q = rope.applyAt(split(linear(x, attn.q().weight()), b, heads), s.positions); // (B, H, 1, hd)
    NDArray k = rope.applyAt(split(linear(x, attn.k().weight()), b, kvHeads), s.positions); // (B, KV, 1, hd)
    NDArray v = split(linear(x, attn.v().weight()), b, kvHeads); // (B, KV, 1, hd)
    keys[layer].set(s.writeRows, k.reshape(b, kvWidth));
    values[layer].set(s.writeRows, v.reshape(b, kvWidth));
    NDManager m = x.getManager();
    NDArray kh = gather(keys[layer], m, s).expandDims(2).transpose(0, 1, 2, 4, 3); // (B, KV, 1, hd, S)
    NDArray vh = gather(values[layer], m, s).expandDims(2); // (B, KV, 1, S, hd)
    NDArray qg = q.reshape(b, kvHeads, heads / kvHeads, 1, hd); // (B, KV, G, 1, hd)
    NDArray scores = Scalars.div(qg.matMul(kh), (float) Math.sqrt(hd)).add(s.mask); // (B, KV, G, 1, S)
    NDArray out = scores.softmax(4).matMul(vh).reshape(b, 1, (long) heads * hd); // (B, 1, H·hd)
    return linear(out, attn.o().weight()); // (B, 1, D)
  }

  /** Rows of each active slot, (B, KV, S, hd). */
  private NDArray gather(NDArray buffer, NDManager m, Step s) {
    NDArray rows = buffer.get(m, s.readRows); // (B, S, KV·hd)
    return rows.reshape(s.batch, s.maxLen, config.numKeyValueHeads(), config.headDim())
        .transpose(0, 2, 1, 3);
  }

  /** (1, KV, T, hd) → (T, KV·hd), the buffer's row layout. */
  private NDArray asRows(NDArray kv, int t) {
    return kv.squeeze(0).transpose(1, 0, 2).reshape(t, kvWidth);
  }

  private static NDArray split(NDArray proj, long b, int n) {
    return proj.reshape(b, 1, n, -1).transpose(0, 2, 1, 3); // (B, n, 1, hd)
  }

  private static NDArray linear(NDArray x, NDArray w) {
    return x.getNDArrayInternal().linear(x, w, null).singletonOrThrow();
  }

  private static long[] toLongs(int[] v) {
    long[] out = new long[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = v[i];
    }
    return out;
  }

  @Override
  public void close() {
    manager.close();
  }
}
