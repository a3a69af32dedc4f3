package dev.graft.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Hugging Face's {@code config.json} of a {@code LlamaForCausalLM}, to and from
 * {@link LlamaConfig}: the one place that maps field names. Fields that change the computation
 * and that Graft does not implement (another {@code hidden_act}, a {@code rope_scaling} of an
 * unknown {@code rope_type}, {@code rope_interleaved: true}) are refused by name rather than
 * ignored. Writing then reading gives the same config back.
 */
final class LlamaConfigJson {

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** config.json fields that carry no computation (or whose only supported value is checked). */
  private static final Set<String> IGNORED_FIELDS =
      Set.of(
          "_name_or_path", "transformers_version", "torch_dtype", "dtype", "use_cache",
          "initializer_range", "pad_token_id", "attention_dropout", "pretraining_tp",
          "output_attentions", "output_hidden_states", "return_dict", "id2label", "label2id",
          "is_llama_config");

  private LlamaConfigJson() {}

  /** Parses a Hugging Face {@code config.json}. */
  static LlamaConfig parse(String json) {
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
    requireValue(root, "rope_interleaved", false);
    int heads = intField(root, "num_attention_heads", null);
    int hidden = intField(root, "hidden_size", null);
    int headDim = root.hasNonNull("head_dim") ? intField(root, "head_dim", null)
        : LlamaConfig.defaultHeadDim(hidden, heads);
    return new LlamaConfig(
        intField(root, "vocab_size", null),
        hidden,
        intField(root, "intermediate_size", null),
        intField(root, "num_hidden_layers", null),
        heads,
        intField(root, "num_key_value_heads", heads),
        headDim,
        intField(root, "max_position_embeddings", 2048),
        doubleField(root, "rms_norm_eps", 1e-6),
        doubleField(root, "rope_theta", 10000.0),
        RopeScalingJson.parse(root.get("rope_scaling")),
        booleanField(root, "attention_bias"),
        booleanField(root, "mlp_bias"),
        booleanField(root, "tie_word_embeddings"),
        intField(root, "bos_token_id", 1),
        eosField(root));
  }

  /** The Hugging Face {@code config.json} text for {@code c}. */
  static String write(LlamaConfig c) {
    ObjectNode n = JSON.createObjectNode();
    n.putArray("architectures").add("LlamaForCausalLM");
    n.put("model_type", "llama");
    n.put("vocab_size", c.vocabSize());
    n.put("hidden_size", c.hiddenSize());
    n.put("intermediate_size", c.intermediateSize());
    n.put("num_hidden_layers", c.numHiddenLayers());
    n.put("num_attention_heads", c.numAttentionHeads());
    n.put("num_key_value_heads", c.numKeyValueHeads());
    n.put("head_dim", c.headDim());
    n.put("max_position_embeddings", c.maxPositionEmbeddings());
    n.put("rms_norm_eps", c.rmsNormEps());
    n.put("rope_theta", c.ropeTheta());
    RopeScalingJson.write(n, c.ropeScaling());
    n.put("hidden_act", "silu");
    n.put("attention_bias", c.attentionBias());
    n.put("mlp_bias", c.mlpBias());
    n.put("tie_word_embeddings", c.tieWordEmbeddings());
    n.put("bos_token_id", c.bosTokenId());
    if (c.eosTokenIds().size() == 1) {
      n.put("eos_token_id", c.eosTokenId());
    } else {
      c.eosTokenIds().forEach(n.putArray("eos_token_id")::add);
    }
    n.put("torch_dtype", "float32");
    n.put("use_cache", true);
    try {
      return JSON.writeValueAsString(n) + "\n";
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static final Set<String> KNOWN_FIELDS =
      Set.of(
          "architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size",
          "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
          "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling", "hidden_act",
          "attention_bias", "mlp_bias", "tie_word_embeddings", "bos_token_id", "eos_token_id",
          "rope_interleaved");

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

  static int intField(JsonNode root, String field, Integer fallback) {
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

  static double doubleField(JsonNode root, String field, double fallback) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isNumber()) {
      throw new IllegalArgumentException("config.json field '" + field + "' must be a number, got " + v);
    }
    return v.asDouble();
  }

  private static boolean booleanField(JsonNode root, String field) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return false;
    }
    if (!v.isBoolean()) {
      throw new IllegalArgumentException("config.json field '" + field + "' must be true or false, got " + v);
    }
    return v.asBoolean();
  }

  private static List<Integer> eosField(JsonNode root) {
    JsonNode v = root.get("eos_token_id");
    if (v != null && v.isArray()) {
      if (v.size() == 0) {
        throw new IllegalArgumentException("config.json field 'eos_token_id' is an empty list");
      }
      List<Integer> ids = new ArrayList<>();
      for (JsonNode id : v) {
        if (!id.canConvertToExactIntegral() || !id.canConvertToInt()) {
          throw new IllegalArgumentException(
              "config.json field 'eos_token_id' must be an integer or a list of integers, got " + v);
        }
        ids.add(id.asInt());
      }
      return ids;
    }
    return List.of(intField(root, "eos_token_id", 2));
  }
}
