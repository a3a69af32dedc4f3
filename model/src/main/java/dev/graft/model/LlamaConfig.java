package dev.graft.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Hyper-parameters of a Llama-family decoder, with the field names and meaning of Hugging Face's
 * {@code LlamaConfig}. Every instance is valid: the constructor rejects impossible combinations with
 * a message that carries the offending values.
 *
 * <p>Reads and writes {@code config.json}. Fields that change the computation and that Graft does not
 * implement (for example {@code rope_scaling}, {@code attention_bias}, another {@code hidden_act})
 * are refused by name rather than ignored.
 */
public record LlamaConfig(
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int numKeyValueHeads,
    int maxPositionEmbeddings,
    double rmsNormEps,
    double ropeTheta,
    boolean tieWordEmbeddings,
    int bosTokenId,
    int eosTokenId) {

  public LlamaConfig {
    positive("vocab_size", vocabSize);
    positive("hidden_size", hiddenSize);
    positive("intermediate_size", intermediateSize);
    positive("num_hidden_layers", numHiddenLayers);
    positive("num_attention_heads", numAttentionHeads);
    positive("num_key_value_heads", numKeyValueHeads);
    positive("max_position_embeddings", maxPositionEmbeddings);
    if (hiddenSize % numAttentionHeads != 0) {
      throw new IllegalArgumentException(
          "hidden_size (" + hiddenSize + ") must be divisible by num_attention_heads ("
              + numAttentionHeads + ")");
    }
    if (numKeyValueHeads > numAttentionHeads || numAttentionHeads % numKeyValueHeads != 0) {
      throw new IllegalArgumentException(
          "num_key_value_heads (" + numKeyValueHeads + ") must divide num_attention_heads ("
              + numAttentionHeads + ")");
    }
    if ((hiddenSize / numAttentionHeads) % 2 != 0) {
      throw new IllegalArgumentException(
          "head dimension hidden_size/num_attention_heads (" + hiddenSize / numAttentionHeads
              + ") must be even for rotary embeddings");
    }
    if (!(rmsNormEps > 0) || !Double.isFinite(rmsNormEps)) {
      throw new IllegalArgumentException("rms_norm_eps (" + rmsNormEps + ") must be > 0");
    }
    if (!(ropeTheta > 0) || !Double.isFinite(ropeTheta)) {
      throw new IllegalArgumentException("rope_theta (" + ropeTheta + ") must be > 0");
    }
    checkTokenId("bos_token_id", bosTokenId, vocabSize);
    checkTokenId("eos_token_id", eosTokenId, vocabSize);
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

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  /** Query heads that share one key/value head. */
  public int groupSize() {
    return numAttentionHeads / numKeyValueHeads;
  }

  public LlamaConfig withNumKeyValueHeads(int kvHeads) {
    return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers,
        numAttentionHeads, kvHeads, maxPositionEmbeddings, rmsNormEps, ropeTheta,
        tieWordEmbeddings, bosTokenId, eosTokenId);
  }

  public LlamaConfig withVocabSize(int vocab) {
    return new LlamaConfig(vocab, hiddenSize, intermediateSize, numHiddenLayers,
        numAttentionHeads, numKeyValueHeads, maxPositionEmbeddings, rmsNormEps, ropeTheta,
        tieWordEmbeddings, bosTokenId, eosTokenId);
  }

  public LlamaConfig withMaxPositionEmbeddings(int maxPositions) {
    return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers,
        numAttentionHeads, numKeyValueHeads, maxPositions, rmsNormEps, ropeTheta,
        tieWordEmbeddings, bosTokenId, eosTokenId);
  }

  public LlamaConfig withLayers(int layers) {
    return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, layers,
        numAttentionHeads, numKeyValueHeads, maxPositionEmbeddings, rmsNormEps, ropeTheta,
        tieWordEmbeddings, bosTokenId, eosTokenId);
  }

  public LlamaConfig withTiedEmbeddings(boolean tied) {
    return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers,
        numAttentionHeads, numKeyValueHeads, maxPositionEmbeddings, rmsNormEps, ropeTheta,
        tied, bosTokenId, eosTokenId);
  }

  /** Number of parameters, counting a tied embedding once. */
  public long parameterCount() {
    long d = hiddenSize;
    long kv = (long) numKeyValueHeads * headDim();
    long attn = d * d * 2 + d * kv * 2;
    long mlp = 3L * d * intermediateSize;
    long layer = attn + mlp + 2 * d;
    long embed = (long) vocabSize * d;
    return embed + (tieWordEmbeddings ? 0 : embed) + numHiddenLayers * layer + d;
  }

  /** Bytes of KV cache one token occupies across all layers at the given element size. */
  public long kvCacheBytesPerToken(int bytesPerElement) {
    return 2L * numHiddenLayers * numKeyValueHeads * headDim() * bytesPerElement;
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

  /** Shapes of every tensor the model holds, by Hugging Face name; for checkpoint validation. */
  public Map<String, List<Long>> tensorShapes() {
    var shapes = new java.util.LinkedHashMap<String, List<Long>>();
    long d = hiddenSize;
    long kv = (long) numKeyValueHeads * headDim();
    shapes.put("model.embed_tokens.weight", List.of((long) vocabSize, d));
    for (int i = 0; i < numHiddenLayers; i++) {
      String p = "model.layers." + i + ".";
      shapes.put(p + "input_layernorm.weight", List.of(d));
      shapes.put(p + "self_attn.q_proj.weight", List.of(d, d));
      shapes.put(p + "self_attn.k_proj.weight", List.of(kv, d));
      shapes.put(p + "self_attn.v_proj.weight", List.of(kv, d));
      shapes.put(p + "self_attn.o_proj.weight", List.of(d, d));
      shapes.put(p + "post_attention_layernorm.weight", List.of(d));
      shapes.put(p + "mlp.gate_proj.weight", List.of((long) intermediateSize, d));
      shapes.put(p + "mlp.up_proj.weight", List.of((long) intermediateSize, d));
      shapes.put(p + "mlp.down_proj.weight", List.of(d, (long) intermediateSize));
    }
    shapes.put("model.norm.weight", List.of(d));
    if (!tieWordEmbeddings) {
      shapes.put("lm_head.weight", List.of((long) vocabSize, d));
    }
    return shapes;
  }
}
