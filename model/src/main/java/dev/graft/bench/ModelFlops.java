package dev.graft.bench;

import dev.graft.model.LlamaConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Floating-point operations of a Llama model, counted from its config: a multiply-add is 2 FLOPs.
 * A forward pass costs 2 · (matrix parameters) per token for the projections, feed-forward and
 * vocabulary head, plus causal attention, 4 · layers · heads · headDim per (query, visible key)
 * pair (scores and the weighted sum of values); a backward pass costs twice the forward. Norms,
 * activations, softmax and the optimizer are not counted (they are memory-bound, and the
 * per-group breakdown times them separately).
 */
public final class ModelFlops {

  private ModelFlops() {}

  /**
   * A matrix of the model that every token is multiplied by: {@code count} matrices of
   * (out, in) per model.
   */
  public record Matmul(String name, long out, long in, int count) {
    /** Multiply-adds per token times 2. */
    public long flopsPerToken() {
      return 2L * out * in * count;
    }
  }

  /** The model's matrices per token, with the vocabulary head (the embedding when tied). */
  public static List<Matmul> matmuls(LlamaConfig c) {
    long d = c.hiddenSize();
    long q = (long) c.numAttentionHeads() * c.headDim();
    long kv = (long) c.numKeyValueHeads() * c.headDim();
    int layers = c.numHiddenLayers();
    List<Matmul> m = new ArrayList<>();
    m.add(new Matmul("q_proj", q, d, layers));
    m.add(new Matmul("k_proj", kv, d, layers));
    m.add(new Matmul("v_proj", kv, d, layers));
    m.add(new Matmul("o_proj", d, q, layers));
    m.add(new Matmul("gate_proj", c.intermediateSize(), d, layers));
    m.add(new Matmul("up_proj", c.intermediateSize(), d, layers));
    m.add(new Matmul("down_proj", d, c.intermediateSize(), layers));
    m.add(new Matmul("lm_head", c.vocabSize(), d, 1));
    return List.copyOf(m);
  }

  /** 2 · matrix parameters: the projections' FLOPs per token. */
  public static long matmulPerToken(LlamaConfig c) {
    return matmuls(c).stream().mapToLong(Matmul::flopsPerToken).sum();
  }

  /** Attention FLOPs for one query that sees {@code keys} positions. */
  public static long attentionPerQuery(LlamaConfig c, double keys) {
    return Math.round(4.0 * c.numHiddenLayers() * c.numAttentionHeads() * c.headDim() * keys);
  }

  /** Forward FLOPs of {@code sequences} causal sequences of {@code length} tokens each. */
  public static double forward(LlamaConfig c, long sequences, int length) {
    double tokens = (double) sequences * length;
    // Query i sees i + 1 keys: (length + 1) / 2 on average.
    return tokens * (matmulPerToken(c) + attentionPerQuery(c, (length + 1) / 2.0));
  }

  /** Forward + backward (2 × forward) FLOPs of a training step on those sequences. */
  public static double trainingStep(LlamaConfig c, long sequences, int length) {
    return 3 * forward(c, sequences, length);
  }

  /**
   * Forward FLOPs of generating {@code newTokens} tokens per sequence after a prompt of
   * {@code prompt} tokens with a KV cache (each new token sees every earlier one), prefill excluded.
   */
  public static double decode(LlamaConfig c, long sequences, int prompt, int newTokens) {
    double meanKeys = prompt + (newTokens + 1) / 2.0;
    return (double) sequences * newTokens * (matmulPerToken(c) + attentionPerQuery(c, meanKeys));
  }
}
