package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

/**
 * A Llama-family causal language model ({@code LlamaForCausalLM}) over DJL's PyTorch engine,
 * with parameters named as in Hugging Face checkpoints. The model owns a native memory manager;
 * close it to free the weights.
 */
public final class LlamaModel extends Module implements AutoCloseable {

  private final LlamaConfig config;
  private final NDManager manager;
  private final RotaryEmbedding rope;
  private final LlamaBackbone backbone;
  private final Linear lmHead; // null when tied to the embedding

  private LlamaModel(LlamaConfig config, NDManager manager, Map<String, NDArray> t) {
    this.config = config;
    this.manager = manager;
    this.rope = new RotaryEmbedding(manager, config.headDim(), config.maxPositionEmbeddings(),
        config.ropeTheta(), config.ropeScaling());
    List<DecoderLayer> layers = new ArrayList<>();
    for (int i = 0; i < config.numHiddenLayers(); i++) {
      String p = "model.layers." + i + ".";
      Attention attn = new Attention(config, linear(t, p + "self_attn.q_proj"),
          linear(t, p + "self_attn.k_proj"), linear(t, p + "self_attn.v_proj"),
          linear(t, p + "self_attn.o_proj"), rope);
      FeedForward mlp = new FeedForward(linear(t, p + "mlp.gate_proj"),
          linear(t, p + "mlp.up_proj"), linear(t, p + "mlp.down_proj"));
      layers.add(new DecoderLayer(attn, norm(t, p + "input_layernorm"),
          norm(t, p + "post_attention_layernorm"), mlp));
    }
    this.backbone = registerChild("model", new LlamaBackbone(
        new Embedding(t.get("model.embed_tokens.weight")), layers, norm(t, "model.norm")));
    this.lmHead = config.tieWordEmbeddings() ? null : registerChild("lm_head", linear(t, "lm_head"));
  }

  /**
   * Builds a model from tensors keyed by Hugging Face name. The set of names and every shape must
   * match {@link LlamaConfig#tensorShapes()}; the arrays move to a manager owned by the model.
   */
  public static LlamaModel fromTensors(LlamaConfig config, NDManager parent, Map<String, NDArray> tensors) {
    checkTensors(config, tensors);
    NDManager manager = parent.newSubManager();
    Map<String, NDArray> owned = new LinkedHashMap<>();
    tensors.forEach((name, a) -> owned.put(name, adopt(manager, name, a)));
    return new LlamaModel(config, manager, owned);
  }

  /**
   * Moves {@code array}, as fp32, under this model's manager with {@code name}: for the tensors
   * of modules a retrofit adds to the model. Returns the adopted array.
   */
  public NDArray adopt(String name, NDArray array) {
    return adopt(manager, name, array);
  }

  private static NDArray adopt(NDManager manager, String name, NDArray a) {
    NDArray f = a.getDataType() == DataType.FLOAT32 ? a : a.toType(DataType.FLOAT32, false);
    f.attach(manager);
    f.setName(name);
    return f;
  }

  /**
   * A freshly initialised model: linear and embedding weights ~ N(0, 0.02²), output projections of
   * each residual branch scaled by 1/sqrt(2·layers) (GPT-2), norms at 1. Biases, where the config
   * has them, ~ N(0, 0.02²) too, so that a random model exercises them (Hugging Face starts them
   * at zero). Same seed, same weights.
   */
  public static LlamaModel random(LlamaConfig config, NDManager parent, long seed) {
    Random rng = new Random(seed);
    double residualStd = 0.02 / Math.sqrt(2.0 * config.numHiddenLayers());
    Map<String, NDArray> t = new LinkedHashMap<>();
    try (NDManager scratch = parent.newSubManager()) {
      for (var e : config.tensorShapes().entrySet()) {
        Shape shape = new Shape(e.getValue().stream().mapToLong(Long::longValue).toArray());
        float[] data = new float[(int) shape.size()];
        String name = e.getKey();
        if (name.endsWith("norm.weight")) {
          java.util.Arrays.fill(data, 1f);
        } else {
          double std = name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight")
              ? residualStd : 0.02;
          for (int i = 0; i < data.length; i++) {
            data[i] = (float) (rng.nextGaussian() * std);
          }
        }
        t.put(name, scratch.create(data, shape));
      }
      return fromTensors(config, parent, t);
    }
  }

  public LlamaConfig config() {
    return config;
  }

  public NDManager manager() {
    return manager;
  }

  public LlamaBackbone backbone() {
    return backbone;
  }

  public List<DecoderLayer> layers() {
    return backbone.layers();
  }

  /** Full forward pass: ids (B, T) int64 → logits (B, T, vocab). */
  public NDArray forward(NDArray ids) {
    return logits(hidden(ids)); // (B, T, V)
  }

  /** Full forward pass up to the final norm: ids (B, T) int64 → hidden states (B, T, hidden). */
  public NDArray hidden(NDArray ids) {
    checkIds(ids);
    return backbone.forward(ids);
  }

  /**
   * {@link #hidden} for inference, holding one layer's activations at a time (see {@link
   * LlamaBackbone#forwardReleasing}); no gradient flows through it.
   */
  public NDArray hiddenReleasing(NDArray ids) {
    checkIds(ids);
    return backbone.forwardReleasing(ids);
  }

  /**
   * The language-model head: final hidden states (B, T, hidden), already normalised, → logits
   * (B, T, vocab); the embedding matrix when the weights are tied.
   */
  public NDArray logits(NDArray hidden) {
    return lmHead == null
        ? hidden.getNDArrayInternal().linear(hidden, backbone.embedding().weight(), null).singletonOrThrow()
        : lmHead.forward(hidden); // (B, T, V)
  }

  /**
   * An empty decode state for {@code slots} independent sequences of up to {@code context}
   * tokens, each layer's cache of its mixer's kind, under {@code parent}. It is valid for the
   * model as it is now: after its weights or a retrofit's αs change, make a new state (cached
   * keys and values were computed by the old ones).
   */
  public DecodeState newDecodeState(int slots, int context, NDManager parent) {
    if (context > config.maxPositionEmbeddings()) {
      throw new IllegalArgumentException("decode context (" + context
          + ") exceeds max_position_embeddings (" + config.maxPositionEmbeddings() + ")");
    }
    return new DecodeState(layers().stream().map(DecoderLayer::mixer).toList(), slots, context, parent);
  }

  /**
   * Incremental decoding of a batch of independent sequences: row b of {@code ids} (B, T) int64
   * continues the sequence in slot {@code slots[b]} of {@code state}; its first
   * {@code lengths[b]} tokens are real, the rest padding. Each slot advances by its row's length.
   *
   * @return logits (B, T, vocab); padding positions hold unspecified values
   * @throws IllegalArgumentException for a repeated or unknown slot, a length outside [1, T], or
   *     a slot that would pass its context
   */
  public NDArray decode(DecodeState state, int[] slots, NDArray ids, int[] lengths) {
    return logits(decodeHidden(state, slots, ids, lengths)); // (B, T, V)
  }

  /**
   * As {@link #decode}, but returns only the logits after each row's last real token, (B, vocab):
   * what a sampler draws the next token from.
   */
  public NDArray decodeNext(DecodeState state, int[] slots, NDArray ids, int[] lengths) {
    NDArray h = decodeHidden(state, slots, ids, lengths); // (B, T, D)
    long b = slots.length;
    long t = ids.getShape().get(1);
    if (t > 1) {
      long[] last = new long[slots.length];
      for (int i = 0; i < slots.length; i++) {
        last[i] = i * t + lengths[i] - 1;
      }
      NDManager m = ids.getManager();
      h = h.reshape(b * t, -1).get(m, new NDIndex("{}", m.create(last))).expandDims(1); // (B, 1, D)
    }
    return logits(h).reshape(b, config.vocabSize()); // (B, V)
  }

  private NDArray decodeHidden(DecodeState state, int[] slots, NDArray ids, int[] lengths) {
    checkIds(ids);
    if (ids.getShape().get(0) != slots.length) {
      throw new IllegalArgumentException("ids have " + ids.getShape().get(0) + " rows but "
          + slots.length + " slots are given");
    }
    DecodeStep step = state.begin(slots, lengths, (int) ids.getShape().get(1), ids.getManager());
    NDArray h = backbone.decode(ids, step, state); // (B, T, D)
    state.commit(step);
    return h;
  }

  private void checkIds(NDArray ids) {
    if (ids.getShape().dimension() != 2) {
      throw new IllegalArgumentException("token ids must have shape (batch, time), got " + ids.getShape());
    }
    if (ids.getDataType() != DataType.INT64) {
      throw new IllegalArgumentException("token ids must be int64, got " + ids.getDataType());
    }
  }

  /** The projection {@code prefix}, with its bias when the checkpoint has one. */
  private static Linear linear(Map<String, NDArray> t, String prefix) {
    return new Linear(t.get(prefix + ".weight"), t.get(prefix + ".bias"));
  }

  private RmsNorm norm(Map<String, NDArray> t, String prefix) {
    return new RmsNorm(t.get(prefix + ".weight"), config.rmsNormEps());
  }

  private static void checkTensors(LlamaConfig config, Map<String, NDArray> tensors) {
    Map<String, List<Long>> expected = config.tensorShapes();
    var missing = new TreeSet<>(expected.keySet());
    missing.removeAll(tensors.keySet());
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException("missing tensor(s): " + missing);
    }
    var extra = new TreeSet<>(tensors.keySet());
    extra.removeAll(expected.keySet());
    if (!extra.isEmpty()) {
      throw new IllegalArgumentException("unexpected tensor(s) for this config: " + extra);
    }
    for (var e : expected.entrySet()) {
      long[] want = e.getValue().stream().mapToLong(Long::longValue).toArray();
      Shape got = tensors.get(e.getKey()).getShape();
      if (!got.equals(new Shape(want))) {
        throw new IllegalArgumentException("tensor '" + e.getKey() + "' has shape " + got
            + " but the config expects " + new Shape(want));
      }
    }
  }

  @Override
  public void close() {
    manager.close();
  }
}
