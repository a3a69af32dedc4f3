package dev.graft.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

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

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** config.json fields that carry no computation (or whose only supported value is checked). */
  private static final Set<String> IGNORED_FIELDS =
      Set.of(
          "_name_or_path", "transformers_version", "torch_dtype", "dtype", "use_cache",
          "initializer_range", "pad_token_id", "attention_dropout", "pretraining_tp",
          "output_attentions", "output_hidden_states", "return_dict", "id2label", "label2id");

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

  /** Parses a Hugging Face {@code config.json}. */
  public static LlamaConfig fromJson(String json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("config.json is not valid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("config.json must be a JSON object");
    }
    checkArchitecture(root);
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!KNOWN_FIELDS.contains(field) && !IGNORED_FIELDS.contains(field)) {
        throw new IllegalArgumentException(
            "unsupported field '" + field + "' in config.json (Graft implements LlamaForCausalLM)");
      }
    }
    requireValue(root, "hidden_act", "silu");
    requireValue(root, "attention_bias", false);
    requireValue(root, "mlp_bias", false);
    if (root.hasNonNull("rope_scaling")) {
      throw new IllegalArgumentException(
          "unsupported field 'rope_scaling' = " + root.get("rope_scaling")
              + " in config.json: only plain rotary embeddings are implemented");
    }
    int heads = intField(root, "num_attention_heads", null);
    int hidden = intField(root, "hidden_size", null);
    if (root.hasNonNull("head_dim") && root.get("head_dim").asInt() != hidden / heads) {
      throw new IllegalArgumentException(
          "unsupported field 'head_dim' = " + root.get("head_dim").asInt()
              + ": Graft requires head_dim == hidden_size / num_attention_heads ("
              + hidden / heads + ")");
    }
    return new LlamaConfig(
        intField(root, "vocab_size", null),
        hidden,
        intField(root, "intermediate_size", null),
        intField(root, "num_hidden_layers", null),
        heads,
        intField(root, "num_key_value_heads", heads),
        intField(root, "max_position_embeddings", 2048),
        doubleField(root, "rms_norm_eps", 1e-6),
        doubleField(root, "rope_theta", 10000.0),
        root.path("tie_word_embeddings").asBoolean(false),
        intField(root, "bos_token_id", 1),
        eosField(root));
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
    ObjectNode n = JSON.createObjectNode();
    n.putArray("architectures").add("LlamaForCausalLM");
    n.put("model_type", "llama");
    n.put("vocab_size", vocabSize);
    n.put("hidden_size", hiddenSize);
    n.put("intermediate_size", intermediateSize);
    n.put("num_hidden_layers", numHiddenLayers);
    n.put("num_attention_heads", numAttentionHeads);
    n.put("num_key_value_heads", numKeyValueHeads);
    n.put("head_dim", headDim());
    n.put("max_position_embeddings", maxPositionEmbeddings);
    n.put("rms_norm_eps", rmsNormEps);
    n.put("rope_theta", ropeTheta);
    n.putNull("rope_scaling");
    n.put("hidden_act", "silu");
    n.put("attention_bias", false);
    n.put("mlp_bias", false);
    n.put("tie_word_embeddings", tieWordEmbeddings);
    n.put("bos_token_id", bosTokenId);
    n.put("eos_token_id", eosTokenId);
    n.put("torch_dtype", "float32");
    n.put("use_cache", true);
    try {
      return JSON.writeValueAsString(n) + "\n";
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public void write(Path configJson) throws IOException {
    Files.writeString(configJson, toJson());
  }

  private static final Set<String> KNOWN_FIELDS =
      Set.of(
          "architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size",
          "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
          "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling", "hidden_act",
          "attention_bias", "mlp_bias", "tie_word_embeddings", "bos_token_id", "eos_token_id");

  private static void checkArchitecture(JsonNode root) {
    String type = root.path("model_type").asText("llama");
    if (!type.equals("llama")) {
      throw new IllegalArgumentException(
          "unsupported model_type '" + type + "' in config.json: Graft implements 'llama'");
    }
    JsonNode archs = root.get("architectures");
    if (archs != null && archs.isArray()) {
      for (JsonNode a : archs) {
        if (!a.asText().equals("LlamaForCausalLM")) {
          throw new IllegalArgumentException(
              "unsupported architecture '" + a.asText()
                  + "' in config.json: Graft implements LlamaForCausalLM");
        }
      }
    }
  }

  private static void requireValue(JsonNode root, String field, Object expected) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return;
    }
    boolean ok = expected instanceof Boolean b ? v.isBoolean() && v.asBoolean() == b
        : v.asText().equals(expected);
    if (!ok) {
      throw new IllegalArgumentException(
          "unsupported field '" + field + "' = " + v + " in config.json: only " + expected
              + " is implemented");
    }
  }

  private static int intField(JsonNode root, String field, Integer fallback) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      if (fallback == null) {
        throw new IllegalArgumentException("config.json is missing required field '" + field + "'");
      }
      return fallback;
    }
    if (!v.canConvertToExactIntegral() || !v.canConvertToInt()) {
      throw new IllegalArgumentException("config.json field '" + field + "' must be an integer, got " + v);
    }
    return v.asInt();
  }

  private static double doubleField(JsonNode root, String field, double fallback) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isNumber()) {
      throw new IllegalArgumentException("config.json field '" + field + "' must be a number, got " + v);
    }
    return v.asDouble();
  }

  private static int eosField(JsonNode root) {
    JsonNode v = root.get("eos_token_id");
    if (v != null && v.isArray()) {
      if (v.size() == 0) {
        throw new IllegalArgumentException("config.json field 'eos_token_id' is an empty list");
      }
      return v.get(0).asInt();
    }
    return intField(root, "eos_token_id", 2);
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
