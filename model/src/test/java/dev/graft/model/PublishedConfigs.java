package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The {@code config.json} of published Llama-family models, as test resources under
 * {@code dev/graft/model/configs/}, and their reductions to test size: the real vocabulary, rotary
 * settings, head_dim, ratio of query to key/value heads, biases, tying and token ids, with few
 * layers and a narrow hidden size, filled with random weights.
 */
final class PublishedConfigs {

  /** Llama 3.2 1B: llama3 rope scaling (factor 32), head_dim 64, 32/8 heads, tied, 128,256 tokens. */
  static final String LLAMA_3_2_1B = "llama-3.2-1b";
  /** TinyLlama 1.1B Chat v1.0: plain rope, 32/4 heads, untied, 32,000 tokens. */
  static final String TINYLLAMA_1_1B = "tinyllama-1.1b-chat-v1.0";
  /** SmolLM2 135M: 9/3 heads of 64, rope theta 100,000, tied, 49,152 tokens. */
  static final String SMOLLM2_135M = "smollm2-135m";
  /** Llama 2 7B: MHA (32/32 heads of 128), no rope_theta field (10,000), untied, 32,000 tokens. */
  static final String LLAMA_2_7B = "llama-2-7b";
  /** Llama 3.1 8B Instruct: three end-of-sequence ids, llama3 scaling (factor 8). */
  static final String LLAMA_3_1_8B_INSTRUCT = "llama-3.1-8b-instruct";
  /** Not a published model: attention and MLP biases, head_dim 96 ≠ 1024/8, linear scaling (legacy "type"). */
  static final String SYNTHETIC_BIASED_LINEAR = "synthetic-biased-linear";

  /** The fixtures whose reductions are checked against the reference. */
  static final List<String> ALL = List.of(LLAMA_3_2_1B, TINYLLAMA_1_1B, SMOLLM2_135M, LLAMA_2_7B,
      LLAMA_3_1_8B_INSTRUCT, SYNTHETIC_BIASED_LINEAR);

  private PublishedConfigs() {}

  /** The fixture's {@code config.json} text. */
  static String json(String name) {
    String path = "configs/" + name + ".json";
    try (InputStream in = PublishedConfigs.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalArgumentException("no fixture " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static LlamaConfig config(String name) {
    return LlamaConfig.fromJson(json(name));
  }

  /**
   * {@code full} at test size: hidden 128, two layers, intermediate 256, and at least four query
   * heads in the published ratio to key/value heads (4/1 for Llama 3.2 1B, 8/1 for TinyLlama, 6/2
   * for SmolLM2, 4/4 for Llama 2); everything else as published, head_dim included.
   */
  static LlamaConfig reduce(LlamaConfig full) {
    int ratio = full.groupSize();
    int heads = ratio * Math.max(1, (4 + ratio - 1) / ratio);
    return full.toBuilder()
        .hiddenSize(128)
        .intermediateSize(256)
        .numHiddenLayers(2)
        .numAttentionHeads(heads)
        .numKeyValueHeads(heads / ratio)
        .build();
  }

  /**
   * Random weights for {@code cfg} whose activations stay of order one through the stack, so that
   * attention is far from uniform and rotary angles matter: embedding ~ N(0, 1), each projection
   * ~ N(0, 1/in), biases ~ N(0, 0.1²), norm weights ~ 1 + N(0, 0.2²). Same seed, same weights.
   */
  static Map<String, float[]> randomWeights(LlamaConfig cfg, long seed) {
    Random rng = new Random(seed);
    Map<String, float[]> w = new LinkedHashMap<>();
    cfg.tensorShapes().forEach((name, shape) -> {
      int n = (int) shape.stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b);
      double std = name.endsWith("norm.weight") ? 0.2
          : name.endsWith(".bias") ? 0.1
          : name.equals("model.embed_tokens.weight") ? 1.0
          : 1 / Math.sqrt(shape.get(1));
      double mean = name.endsWith("norm.weight") ? 1 : 0;
      float[] v = new float[n];
      for (int i = 0; i < n; i++) {
        v[i] = (float) (mean + rng.nextGaussian() * std);
      }
      w.put(name, v);
    });
    return w;
  }

  /** A model holding {@code weights} under {@code manager}. */
  static LlamaModel model(LlamaConfig cfg, Map<String, float[]> weights, NDManager manager) {
    Map<String, NDArray> tensors = new LinkedHashMap<>();
    try (NDManager scratch = manager.newSubManager()) {
      cfg.tensorShapes().forEach((name, shape) -> tensors.put(name,
          scratch.create(weights.get(name), new Shape(shape.stream().mapToLong(Long::longValue).toArray()))));
      return LlamaModel.fromTensors(cfg, manager, tensors);
    }
  }
}
