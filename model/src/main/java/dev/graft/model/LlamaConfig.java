package dev.graft.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hyper-parameters of a Llama-family decoder, with the field names and meaning of Hugging Face's
 * {@code LlamaConfig}. Every instance is valid: the constructor rejects impossible combinations with
 * a message that carries the offending values.
 *
 * <p>Reads and writes {@code config.json} ({@link LlamaConfigJson}). Besides the plain Llama
 * shape it carries what published checkpoints use: an explicit {@code head_dim} (q_proj is
 * (heads·headDim, hidden), k/v (kvHeads·headDim, hidden), o_proj (hidden, heads·headDim)), a
 * {@link RopeScaling}, biases on the attention projections ({@code attention_bias}: q, k, v and o)
 * and on the MLP ({@code mlp_bias}: gate, up and down), untied heads and a list of end-of-sequence
 * ids. Fields that change the computation and that Graft does not implement (another
 * {@code hidden_act}, an unknown {@code rope_type}) are refused by name rather than ignored.
 *
 * @param eosTokenIds every id that ends a sequence (generation stops at any); the first is
 *     {@link #eosTokenId()}
 */
public record LlamaConfig(
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int numKeyValueHeads,
    int headDim,
    int maxPositionEmbeddings,
    double rmsNormEps,
    double ropeTheta,
    RopeScaling ropeScaling,
    boolean attentionBias,
    boolean mlpBias,
    boolean tieWordEmbeddings,
    int bosTokenId,
    List<Integer> eosTokenIds) {

  public LlamaConfig {
    positive("vocab_size", vocabSize);
    positive("hidden_size", hiddenSize);
    positive("intermediate_size", intermediateSize);
    positive("num_hidden_layers", numHiddenLayers);
    positive("num_attention_heads", numAttentionHeads);
    positive("num_key_value_heads", numKeyValueHeads);
    positive("head_dim", headDim);
    positive("max_position_embeddings", maxPositionEmbeddings);
    if (numKeyValueHeads > numAttentionHeads || numAttentionHeads % numKeyValueHeads != 0) {
      throw new IllegalArgumentException(
          "num_key_value_heads (" + numKeyValueHeads + ") must divide num_attention_heads ("
              + numAttentionHeads + ")");
    }
    if (headDim % 2 != 0) {
      throw new IllegalArgumentException(
          "head_dim (" + headDim + ") must be even for rotary embeddings");
    }
    if (!(rmsNormEps > 0) || !Double.isFinite(rmsNormEps)) {
      throw new IllegalArgumentException("rms_norm_eps (" + rmsNormEps + ") must be > 0");
    }
    if (!(ropeTheta > 0) || !Double.isFinite(ropeTheta)) {
      throw new IllegalArgumentException("rope_theta (" + ropeTheta + ") must be > 0");
    }
    if (ropeScaling == null) {
      throw new IllegalArgumentException("rope_scaling must be given (RopeScaling.NONE for none)");
    }
    checkTokenId("bos_token_id", bosTokenId, vocabSize);
    if (eosTokenIds == null || eosTokenIds.isEmpty()) {
      throw new IllegalArgumentException("eos_token_id must hold at least one id");
    }
    eosTokenIds = List.copyOf(eosTokenIds);
    for (int id : eosTokenIds) {
      checkTokenId("eos_token_id", id, vocabSize);
    }
  }

  /**
   * A plain Llama: head_dim = hidden/heads, no rope scaling, no biases, one end-of-sequence id.
   *
   * @throws IllegalArgumentException also when hidden_size is not a multiple of the heads
   */
  public LlamaConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
      int numAttentionHeads, int numKeyValueHeads, int maxPositionEmbeddings, double rmsNormEps,
      double ropeTheta, boolean tieWordEmbeddings, int bosTokenId, int eosTokenId) {
    this(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads,
        defaultHeadDim(hiddenSize, numAttentionHeads), maxPositionEmbeddings, rmsNormEps, ropeTheta,
        RopeScaling.NONE, false, false, tieWordEmbeddings, bosTokenId, List.of(eosTokenId));
  }

  /**
   * Hugging Face's default {@code head_dim}, hidden/heads, which must divide exactly.
   *
   * @throws IllegalArgumentException naming both values when it does not
   */
  static int defaultHeadDim(int hiddenSize, int numAttentionHeads) {
    positive("num_attention_heads", numAttentionHeads);
    if (hiddenSize % numAttentionHeads != 0) {
      throw new IllegalArgumentException(
          "hidden_size (" + hiddenSize + ") must be divisible by num_attention_heads ("
              + numAttentionHeads + ")");
    }
    return hiddenSize / numAttentionHeads;
  }

  /** A model that runs a forward pass on a CPU in milliseconds; for tests. */
  public static LlamaConfig tiny(int vocabSize) {
    return new LlamaConfig(vocabSize, 64, 172, 2, 4, 4, 128, 1e-5, 10000.0, false, 0, 1);
  }

  /**
   * The embedded default base model: trained from scratch by {@code graft pretrain} on a laptop
   * CPU in about ten minutes. MHA with 8 heads, so GQA retrofits to 4/2/1 KV heads are possible.
   */
  public static LlamaConfig small(int vocabSize) {
    return new LlamaConfig(vocabSize, 256, 688, 4, 8, 8, 256, 1e-5, 10000.0, true, 0, 1);
  }

  /** The first end-of-sequence id (Hugging Face's {@code eos_token_id} when it is a single id). */
  public int eosTokenId() {
    return eosTokenIds.get(0);
  }

  /** Query heads that share one key/value head. */
  public int groupSize() {
    return numAttentionHeads / numKeyValueHeads;
  }

  /** Width of all query heads together, heads·headDim (the hidden size unless head_dim is set). */
  public int attentionWidth() {
    return numAttentionHeads * headDim;
  }

  /** A builder holding this config's values, to derive another. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  public LlamaConfig withNumKeyValueHeads(int kvHeads) {
    return toBuilder().numKeyValueHeads(kvHeads).build();
  }

  public LlamaConfig withVocabSize(int vocab) {
    return toBuilder().vocabSize(vocab).build();
  }

  public LlamaConfig withMaxPositionEmbeddings(int maxPositions) {
    return toBuilder().maxPositionEmbeddings(maxPositions).build();
  }

  public LlamaConfig withLayers(int layers) {
    return toBuilder().numHiddenLayers(layers).build();
  }

  public LlamaConfig withTiedEmbeddings(boolean tied) {
    return toBuilder().tieWordEmbeddings(tied).build();
  }

  public LlamaConfig withHeadDim(int dim) {
    return toBuilder().headDim(dim).build();
  }

  public LlamaConfig withRopeScaling(RopeScaling scaling) {
    return toBuilder().ropeScaling(scaling).build();
  }

  /** Biases on q/k/v/o ({@code attention_bias}) and on gate/up/down ({@code mlp_bias}). */
  public LlamaConfig withBiases(boolean attention, boolean mlp) {
    return toBuilder().attentionBias(attention).mlpBias(mlp).build();
  }

  public LlamaConfig withEosTokenIds(List<Integer> ids) {
    return toBuilder().eosTokenIds(ids).build();
  }

  /** Number of parameters, counting a tied embedding once. */
  public long parameterCount() {
    return tensorShapes().values().stream()
        .mapToLong(shape -> shape.stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b))
        .sum();
  }

  /** Bytes of KV cache one token occupies across all layers at the given element size. */
  public long kvCacheBytesPerToken(int bytesPerElement) {
    return 2L * numHiddenLayers * numKeyValueHeads * headDim * bytesPerElement;
  }

  /** Parses a Hugging Face {@code config.json}; see {@link LlamaConfigJson}. */
  public static LlamaConfig fromJson(String json) {
    return LlamaConfigJson.parse(json);
  }

  public static LlamaConfig read(Path configJson) throws IOException {
    try {
      return fromJson(Files.readString(configJson));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(configJson + ": " + e.getMessage(), e);
    }
  }

  /** The Hugging Face {@code config.json} text for this configuration. */
  public String toJson() {
    return LlamaConfigJson.write(this);
  }

  public void write(Path configJson) throws IOException {
    Files.writeString(configJson, toJson());
  }

  private static void positive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " (" + value + ") must be > 0");
    }
  }

  private static void checkTokenId(String name, int id, int vocab) {
    if (id < 0 || id >= vocab) {
      throw new IllegalArgumentException(name + " (" + id + ") must be in [0, vocab_size=" + vocab + ")");
    }
  }

  /**
   * Shapes of every tensor the model holds, by Hugging Face name, in checkpoint order (a bias
   * right after its weight); for checkpoint validation.
   */
  public Map<String, List<Long>> tensorShapes() {
    var shapes = new LinkedHashMap<String, List<Long>>();
    long d = hiddenSize;
    long q = attentionWidth();
    long kv = (long) numKeyValueHeads * headDim;
    long ff = intermediateSize;
    shapes.put("model.embed_tokens.weight", List.of((long) vocabSize, d));
    for (int i = 0; i < numHiddenLayers; i++) {
      String p = "model.layers." + i + ".";
      shapes.put(p + "input_layernorm.weight", List.of(d));
      projection(shapes, p + "self_attn.q_proj", q, d, attentionBias);
      projection(shapes, p + "self_attn.k_proj", kv, d, attentionBias);
      projection(shapes, p + "self_attn.v_proj", kv, d, attentionBias);
      projection(shapes, p + "self_attn.o_proj", d, q, attentionBias);
      shapes.put(p + "post_attention_layernorm.weight", List.of(d));
      projection(shapes, p + "mlp.gate_proj", ff, d, mlpBias);
      projection(shapes, p + "mlp.up_proj", ff, d, mlpBias);
      projection(shapes, p + "mlp.down_proj", d, ff, mlpBias);
    }
    shapes.put("model.norm.weight", List.of(d));
    if (!tieWordEmbeddings) {
      shapes.put("lm_head.weight", List.of((long) vocabSize, d));
    }
    return shapes;
  }

  private static void projection(Map<String, List<Long>> shapes, String prefix, long out, long in,
      boolean bias) {
    shapes.put(prefix + ".weight", List.of(out, in));
    if (bias) {
      shapes.put(prefix + ".bias", List.of(out));
    }
  }

  /** A mutable copy of a config's values; {@link #build()} validates them. */
  public static final class Builder {
    private int vocabSize;
    private int hiddenSize;
    private int intermediateSize;
    private int numHiddenLayers;
    private int numAttentionHeads;
    private int numKeyValueHeads;
    private int headDim;
    private int maxPositionEmbeddings;
    private double rmsNormEps;
    private double ropeTheta;
    private RopeScaling ropeScaling;
    private boolean attentionBias;
    private boolean mlpBias;
    private boolean tieWordEmbeddings;
    private int bosTokenId;
    private List<Integer> eosTokenIds;

    private Builder(LlamaConfig c) {
      vocabSize = c.vocabSize;
      hiddenSize = c.hiddenSize;
      intermediateSize = c.intermediateSize;
      numHiddenLayers = c.numHiddenLayers;
      numAttentionHeads = c.numAttentionHeads;
      numKeyValueHeads = c.numKeyValueHeads;
      headDim = c.headDim;
      maxPositionEmbeddings = c.maxPositionEmbeddings;
      rmsNormEps = c.rmsNormEps;
      ropeTheta = c.ropeTheta;
      ropeScaling = c.ropeScaling;
      attentionBias = c.attentionBias;
      mlpBias = c.mlpBias;
      tieWordEmbeddings = c.tieWordEmbeddings;
      bosTokenId = c.bosTokenId;
      eosTokenIds = c.eosTokenIds;
    }

    public Builder vocabSize(int v) {
      vocabSize = v;
      return this;
    }

    /** The hidden size alone; head_dim stays as it is (set it too for hidden/heads). */
    public Builder hiddenSize(int v) {
      hiddenSize = v;
      return this;
    }

    public Builder intermediateSize(int v) {
      intermediateSize = v;
      return this;
    }

    public Builder numHiddenLayers(int v) {
      numHiddenLayers = v;
      return this;
    }

    public Builder numAttentionHeads(int v) {
      numAttentionHeads = v;
      return this;
    }

    public Builder numKeyValueHeads(int v) {
      numKeyValueHeads = v;
      return this;
    }

    public Builder headDim(int v) {
      headDim = v;
      return this;
    }

    public Builder maxPositionEmbeddings(int v) {
      maxPositionEmbeddings = v;
      return this;
    }

    public Builder rmsNormEps(double v) {
      rmsNormEps = v;
      return this;
    }

    public Builder ropeTheta(double v) {
      ropeTheta = v;
      return this;
    }

    public Builder ropeScaling(RopeScaling v) {
      ropeScaling = v;
      return this;
    }

    public Builder attentionBias(boolean v) {
      attentionBias = v;
      return this;
    }

    public Builder mlpBias(boolean v) {
      mlpBias = v;
      return this;
    }

    public Builder tieWordEmbeddings(boolean v) {
      tieWordEmbeddings = v;
      return this;
    }

    public Builder bosTokenId(int v) {
      bosTokenId = v;
      return this;
    }

    public Builder eosTokenIds(List<Integer> v) {
      eosTokenIds = v;
      return this;
    }

    /** @throws IllegalArgumentException as the config's constructor does */
    public LlamaConfig build() {
      return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers,
          numAttentionHeads, numKeyValueHeads, headDim, maxPositionEmbeddings, rmsNormEps, ropeTheta,
          ropeScaling, attentionBias, mlpBias, tieWordEmbeddings, bosTokenId, eosTokenIds);
    }
  }
}
