package dev.graft.sampler.server;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.graft.model.DecodeState;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.sampler.SamplingParams;
import dev.graft.sampler.TokenSampler;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.LongSupplier;

/**
 * Benchmark, not a test: where the time of one decode step goes, at batch B with S cached
 * positions per row. The whole step is what the sampler's engine does per token (the model's
 * {@code decodeNext} for B single-token rows, the logits copied to Java, one token drawn per row);
 * each group of its operations is then timed alone on the same shapes (the CPU engine runs each
 * operation synchronously): {@code projections} (the fused q/k/v, o and SwiGLU matrices of every
 * layer, the GEMV part), {@code attention} (rotary products, the cache write, scores over S
 * positions, softmax, weighted values), {@code norms_activations} (RMSNorms, SiLU and gating,
 * residual adds), {@code vocabulary_head} (the head and the copy of the logits to Java),
 * {@code sampling} (drawing the tokens in Java). What the step takes beyond their sum is
 * {@code java_and_overhead}: per-call overhead, index arrays and bookkeeping.
 */
public final class DecodeBreakdown {

  /** Mean seconds of a whole step, and of each group alone plus the remainder. */
  public record Result(int batch, int cached, double stepSeconds, Map<String, Double> groupSeconds) {
    public Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("batch", batch);
      m.put("cached_positions", cached);
      m.put("step_seconds", stepSeconds);
      m.put("breakdown_seconds", groupSeconds);
      return m;
    }
  }

  private final LlamaModel model;
  private final LlamaConfig c;
  private final int batch;
  private final int cached;
  private final int reps;
  private final LongSupplier clock;

  private DecodeBreakdown(LlamaModel model, int batch, int cached, int reps, LongSupplier clock) {
    this.model = model;
    this.c = model.config();
    this.batch = batch;
    this.cached = cached;
    this.reps = reps;
    this.clock = clock;
  }

  /**
   * @param cached positions already in each row's slot when the timed steps start; the model's
   *     context must hold {@code cached + reps + 1}
   */
  public static Result run(LlamaModel model, int batch, int cached, int reps, LongSupplier clock) {
    if (batch < 1 || cached < 1 || reps < 1 || cached + reps + 1 > model.config().maxPositionEmbeddings()) {
      throw new IllegalArgumentException("batch (" + batch + "), cached positions (" + cached + ") and reps ("
          + reps + ") must be >= 1, and cached + reps + 1 within max_position_embeddings ("
          + model.config().maxPositionEmbeddings() + ")");
    }
    return new DecodeBreakdown(model, batch, cached, reps, clock).measure();
  }

  private Result measure() {
    double step = wholeStep();
    Map<String, NDArray> w = model.namedParameters();
    Map<String, Double> groups = new LinkedHashMap<>();
    try (NDManager m = model.manager().newSubManager()) {
      NDArray[] fused = new NDArray[c.numHiddenLayers()];
      for (int i = 0; i < fused.length; i++) {
        String p = "model.layers." + i + ".self_attn.";
        fused[i] = NDArrays.concat(new NDList(w.get(p + "q_proj.weight"), w.get(p + "k_proj.weight"),
            w.get(p + "v_proj.weight")), 0);
        fused[i].attach(m);
      }
      groups.put("projections", time(s -> projections(s, w, fused)));
      groups.put("attention", time(this::attention));
      groups.put("norms_activations", time(this::normsActivations));
      float[][] logits = new float[batch][];
      groups.put("vocabulary_head", time(s -> {
        float[] flat = model.logits(s.randomNormal(new Shape(batch, 1, c.hiddenSize()))).toFloatArray();
        for (int b = 0; b < batch; b++) {
          logits[b] = Arrays.copyOfRange(flat, b * c.vocabSize(), (b + 1) * c.vocabSize());
        }
      }));
      SamplingParams params = new SamplingParams(1f, 1f, 0, 1, new int[0], 1);
      Random rng = new Random(1);
      groups.put("sampling", time(s -> {
        for (float[] row : logits) {
          TokenSampler.choose(row, params, rng);
        }
      }));
    }
    double sum = groups.values().stream().mapToDouble(Double::doubleValue).sum();
    groups.put("java_and_overhead", step - sum);
    return new Result(batch, cached, step, groups);
  }

  /** Mean seconds of the engine's step: decode B single-token rows, copy the logits, draw. */
  private double wholeStep() {
    int[] slots = new int[batch];
    int[] ones = new int[batch];
    int[] prompt = new int[batch];
    Arrays.setAll(slots, i -> i);
    Arrays.fill(ones, 1);
    Arrays.fill(prompt, cached);
    SamplingParams params = new SamplingParams(1f, 1f, 0, 1, new int[0], 1);
    Random rng = new Random(1);
    try (NDManager m = model.manager().newSubManager();
        DecodeState state = model.newDecodeState(batch, cached + reps + 1, m)) {
      model.decodeNext(state, slots, m.zeros(new Shape(batch, cached), ai.djl.ndarray.types.DataType.INT64),
          prompt); // prefill
      long[] next = new long[batch];
      long start = 0;
      for (int i = 0; i <= reps; i++) {
        if (i == 1) {
          start = clock.getAsLong(); // the first step is untimed
        }
        try (NDManager s = m.newSubManager()) {
          float[] flat = model.decodeNext(state, slots, s.create(next, new Shape(batch, 1)), ones).toFloatArray();
          for (int b = 0; b < batch; b++) {
            next[b] = TokenSampler.choose(Arrays.copyOfRange(flat, b * c.vocabSize(), (b + 1) * c.vocabSize()),
                params, rng);
          }
        }
      }
      return (clock.getAsLong() - start) / 1e9 / reps;
    }
  }

  private double time(java.util.function.Consumer<NDManager> group) {
    try (NDManager s = model.manager().newSubManager()) {
      group.accept(s); // untimed first run
    }
    long start = clock.getAsLong();
    for (int i = 0; i < reps; i++) {
      try (NDManager s = model.manager().newSubManager()) {
        group.accept(s);
      }
    }
    return (clock.getAsLong() - start) / 1e9 / reps;
  }

  private void projections(NDManager s, Map<String, NDArray> w, NDArray[] fused) {
    NDArray x = s.randomNormal(new Shape(batch, 1, c.hiddenSize()));
    NDArray a = s.randomNormal(new Shape(batch, 1, (long) c.numAttentionHeads() * c.headDim()));
    NDArray h = s.randomNormal(new Shape(batch, 1, c.intermediateSize()));
    for (int i = 0; i < c.numHiddenLayers(); i++) {
      String p = "model.layers." + i + ".";
      linear(x, fused[i]);
      linear(a, w.get(p + "self_attn.o_proj.weight"));
      linear(x, w.get(p + "mlp.gate_proj.weight"));
      linear(x, w.get(p + "mlp.up_proj.weight"));
      linear(h, w.get(p + "mlp.down_proj.weight"));
    }
  }

  /** The single-token attention of the model's decode path, on random queries, keys and values. */
  private void attention(NDManager s) {
    int heads = c.numAttentionHeads();
    int kv = c.numKeyValueHeads();
    int hd = c.headDim();
    NDArray rot = s.randomNormal(new Shape(batch, hd, hd));
    NDArray keys = s.randomNormal(new Shape(batch, cached + 1, kv, hd));
    NDArray values = s.randomNormal(new Shape(batch, cached + 1, kv, hd));
    NDIndex newest = new NDIndex(":, {}", cached);
    for (int i = 0; i < c.numHiddenLayers(); i++) {
      NDArray q = s.randomNormal(new Shape(batch, heads, hd)).matMul(rot); // (B, H, hd)
      NDArray k = s.randomNormal(new Shape(batch, kv, hd)).matMul(rot); // (B, KV, hd)
      keys.set(newest, k);
      values.set(newest, k);
      NDArray scores = q.reshape(batch, kv, heads / kv, hd).matMul(keys.transpose(0, 2, 3, 1)); // (B, KV, G, S)
      scores.softmax(3).matMul(values.transpose(0, 2, 1, 3)).reshape(batch, 1, (long) heads * hd);
    }
  }

  private void normsActivations(NDManager s) {
    NDArray x = s.randomNormal(new Shape(batch, 1, c.hiddenSize()));
    NDArray g = s.randomNormal(new Shape(batch, 1, c.intermediateSize()));
    NDArray u = s.randomNormal(new Shape(batch, 1, c.intermediateSize()));
    NDArray weight = s.ones(new Shape(c.hiddenSize()));
    for (int i = 0; i < c.numHiddenLayers(); i++) {
      NDArray h = x.add(norm(x, weight));
      h.add(norm(h, weight));
      g.mul(Activation.sigmoid(g)).mul(u);
    }
    norm(x, weight);
  }

  /** RMSNorm's operations, as the model runs them. */
  private NDArray norm(NDArray x, NDArray weight) {
    NDArray rms = x.square().mean(new int[] {2}, true).add((float) c.rmsNormEps()).sqrt();
    return x.div(rms).mul(weight);
  }

  private static NDArray linear(NDArray x, NDArray w) {
    return x.getNDArrayInternal().linear(x, w, null).singletonOrThrow();
  }
}
