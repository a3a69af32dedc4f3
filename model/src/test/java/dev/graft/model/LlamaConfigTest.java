package dev.graft.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
      "head dimension hidden_size/num_attention_heads (5) must be even for rotary embeddings|40|8|8"})
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
      "rope_scaling|{\"type\": \"linear\", \"factor\": 2.0}|unsupported field 'rope_scaling' = {\"type\":\"linear\",\"factor\":2.0} in config.json: only plain rotary embeddings are implemented",
      "hidden_act|\"gelu\"|unsupported field 'hidden_act' = \"gelu\" in config.json: only silu is implemented",
      "attention_bias|true|unsupported field 'attention_bias' = true in config.json: only false is implemented",
      "head_dim|128|unsupported field 'head_dim' = 128: Graft requires head_dim == hidden_size / num_attention_heads (64)"})
  void fromJson_unsupportedFeature_isNamed(String field, String value, String message) throws Exception {
    var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
    var root = (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(HF_TINY_LLAMA);
    root.set(field, mapper.readTree(value));
    String json = mapper.writeValueAsString(root);
    var e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.fromJson(json));
    assertEquals(message, e.getMessage());
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
  }
}
