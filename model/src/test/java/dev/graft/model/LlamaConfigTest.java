package dev.graft.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LlamaConfigTest {

  private static final String HF_TINY_LLAMA = """
      {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 32000,
       "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22,
       "num_attention_heads": 32, "num_key_value_heads": 4, "max_position_embeddings": 2048,
       "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "rope_scaling": null, "hidden_act": "silu",
       "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16",
       "transformers_version": "4.35.0", "use_cache": true, "pretraining_tp": 1,
       "initializer_range": 0.02, "attention_bias": false}""";

  @Test
  void fromJson_huggingFaceConfig_readsEveryField() {
    LlamaConfig c = LlamaConfig.fromJson(HF_TINY_LLAMA);
    assertEquals(new LlamaConfig(32000, 2048, 5632, 22, 32, 4, 2048, 1e-5, 10000.0, false, 1, 2), c);
    assertEquals(64, c.headDim());
    assertEquals(8, c.groupSize());
    assertEquals(2L * 22 * 4 * 64 * 2, c.kvCacheBytesPerToken(2));
  }

  @Test
  void toJson_thenFromJson_isIdentity() {
    LlamaConfig c = LlamaConfig.small(4096).withNumKeyValueHeads(2);
    assertEquals(c, LlamaConfig.fromJson(c.toJson()));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "hidden_size (250) must be divisible by num_attention_heads (8)|250|8|8",
      "num_key_value_heads (3) must divide num_attention_heads (8)|256|8|3",
      "num_key_value_heads (16) must divide num_attention_heads (8)|256|8|16",
      "head_dim (5) must be even for rotary embeddings|40|8|8"})
  void constructor_impossibleShapes_giveMessageWithValues(String message, int hidden, int heads, int kv) {
    var e = assertThrows(IllegalArgumentException.class,
        () -> new LlamaConfig(100, hidden, 64, 2, heads, kv, 64, 1e-5, 1e4, false, 0, 1));
    assertEquals(message, e.getMessage());
  }

  @Test
  void constructor_tokenIdOutsideVocab_isRejected() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> new LlamaConfig(100, 64, 64, 2, 4, 4, 64, 1e-5, 1e4, false, 0, 100));
    assertEquals("eos_token_id (100) must be in [0, vocab_size=100)", e.getMessage());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "model_type|\"mistral\"|unsupported model_type 'mistral' in config.json: Graft implements 'llama'",
      "architectures|[\"MistralForCausalLM\"]|unsupported architecture 'MistralForCausalLM' in config.json: Graft implements LlamaForCausalLM",
      "sliding_window|4096|unsupported field 'sliding_window' in config.json (Graft implements LlamaForCausalLM)",
      "rope_scaling|{\"rope_type\": \"yarn\", \"factor\": 4.0}|unsupported rope_scaling type 'yarn' in config.json: Graft implements default, linear, dynamic and llama3",
      "rope_scaling|{\"type\": \"linear\", \"factor\": 2.0, \"finetuned\": true}|rope_scaling of type 'linear' has unsupported key(s) [finetuned] (it takes [factor])",
      "rope_scaling|{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0}|rope_scaling of type 'llama3' is missing 'original_max_position_embeddings'",
      "rope_scaling|{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 4.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}|rope_scaling.high_freq_factor (4.0) must be greater than low_freq_factor (4.0)",
      "rope_scaling|{\"rope_type\": \"linear\", \"factor\": 0}|rope_scaling.factor (0.0) of rope_type 'linear' must be > 0",
      "rope_scaling|{\"factor\": 2.0}|config.json field 'rope_scaling' = {\"factor\":2.0} names no rope_type",
      "rope_scaling|\"linear\"|config.json field 'rope_scaling' must be an object or null, got \"linear\"",
      "hidden_act|\"gelu\"|unsupported field 'hidden_act' = \"gelu\" in config.json: only silu is implemented",
      "rope_interleaved|true|unsupported field 'rope_interleaved' = true in config.json: only false is implemented",
      "attention_bias|\"yes\"|config.json field 'attention_bias' must be true or false, got \"yes\"",
      "head_dim|63|head_dim (63) must be even for rotary embeddings",
      "eos_token_id|[]|config.json field 'eos_token_id' is an empty list",
      "eos_token_id|[2, 32000]|eos_token_id (32000) must be in [0, vocab_size=32000)"})
  void fromJson_unsupportedFeature_isNamed(String field, String value, String message) throws Exception {
    var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
    var root = (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(HF_TINY_LLAMA);
    root.set(field, mapper.readTree(value));
    String json = mapper.writeValueAsString(root);
    var e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.fromJson(json));
    assertEquals(message, e.getMessage());
  }

  @Test
  void everyNewField_writesAndReadsBack() {
    LlamaConfig c = LlamaConfig.tiny(300).withHeadDim(24).withBiases(true, true)
        .withRopeScaling(new RopeScaling.Llama3(8, 1, 4, 64)).withEosTokenIds(List.of(1, 5, 7))
        .withNumKeyValueHeads(2);
    String json = c.toJson();
    assertEquals(c, LlamaConfig.fromJson(json));
    assertTrue(json.contains("\"eos_token_id\" : [ 1, 5, 7 ]"), json);
    assertTrue(json.contains("\"rope_type\" : \"llama3\""), json);
    for (RopeScaling s : List.of(RopeScaling.NONE, new RopeScaling.Linear(2.5), new RopeScaling.Dynamic(3))) {
      LlamaConfig d = c.withRopeScaling(s);
      assertEquals(d, LlamaConfig.fromJson(d.toJson()));
    }
  }

  @Test
  void plainConfig_writesTheSameJsonAsBefore() {
    // Written configs (and the fingerprints computed from them) of plain models do not change.
    String json = LlamaConfig.small(4096).toJson();
    assertTrue(json.contains("\"rope_scaling\" : null"), json);
    assertTrue(json.contains("\"eos_token_id\" : 1,"), json);
    assertTrue(json.contains("\"attention_bias\" : false"), json);
  }

  @Test
  void headDim_shapesTheAttentionTensors_andCounts() {
    LlamaConfig c = LlamaConfig.tiny(100).withHeadDim(24).withNumKeyValueHeads(2).withBiases(true, false);
    var shapes = c.tensorShapes();
    assertEquals(List.of(96L, 64L), shapes.get("model.layers.0.self_attn.q_proj.weight"));
    assertEquals(List.of(48L, 64L), shapes.get("model.layers.0.self_attn.k_proj.weight"));
    assertEquals(List.of(48L), shapes.get("model.layers.0.self_attn.k_proj.bias"));
    assertEquals(List.of(64L, 96L), shapes.get("model.layers.1.self_attn.o_proj.weight"));
    assertEquals(List.of(64L), shapes.get("model.layers.1.self_attn.o_proj.bias"));
    assertEquals(false, shapes.containsKey("model.layers.0.mlp.up_proj.bias"));
    long attn = 2 * 96L * 64 + 2 * 48L * 64 + 96 + 2 * 48 + 64;
    long layer = attn + 3 * 172L * 64 + 2 * 64;
    assertEquals(2 * 100L * 64 + 2 * layer + 64, c.parameterCount());
    assertEquals(2L * 2 * 2 * 24 * 4, c.kvCacheBytesPerToken(4));
    assertEquals(96, c.attentionWidth());
  }

  @Test
  void fromJson_missingField_andWrongType_areNamed() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> LlamaConfig.fromJson("{\"vocab_size\": 10, \"num_attention_heads\": 2}"));
    assertEquals("config.json is missing required field 'hidden_size'", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.fromJson(
        HF_TINY_LLAMA.replace("\"num_hidden_layers\": 22", "\"num_hidden_layers\": \"22\"")));
    assertEquals("config.json field 'num_hidden_layers' must be an integer, got \"22\"", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.fromJson("{not json"));
    assertEquals(true, e.getMessage().startsWith("config.json is not valid JSON"));
    e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.fromJson(
        HF_TINY_LLAMA.replace("\"hidden_size\": 2048", "\"hidden_size\": 2050")));
    assertEquals("hidden_size (2050) must be divisible by num_attention_heads (32)", e.getMessage());
  }
}
