package dev.graft.trainer.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.GradientCollector;
import dev.graft.bench.ModelFlops;
import dev.graft.model.Attention;
import dev.graft.model.DecoderLayer;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.model.RotaryEmbedding;
import dev.graft.model.Scalars;
import dev.graft.trainer.loss.TokenLoss;
import dev.graft.trainer.optim.AdamW;
import dev.graft.trainer.optim.GradClip;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.LongSupplier;

/**
 * Benchmark, not a test: the pretraining step ({@link Pretrainer}'s arithmetic: forward,
 * cross-entropy, backward, global-norm clipping, AdamW) on random weights and tokens, and where its
 * time goes.
 *
 * <p>The breakdown times each group of operations alone, forward and backward, on the step's own
 * shapes (the CPU engine runs every operation synchronously, so a group's wall time is its cost):
 * {@code projections} (every layer's q/k/v/o and SwiGLU matrices), {@code attention} (rotary,
 * scores, mask, softmax, weighted values), {@code norms_activations} (the RMSNorms, SiLU and
 * gating products, residual adds), {@code vocabulary_loss} (the vocabulary head, log-softmax and
 * the picked log-probabilities), {@code optimizer} (clipping and the AdamW update). What the step
 * takes beyond their sum is {@code java_and_overhead}: Java-side work, per-operation call
 * overhead, allocation and the reshapes between groups.
 */
public final class TrainStepBench {

  /**
   * @param stepSeconds mean seconds per timed step
   * @param groupSeconds seconds per step of each group alone, and the remainder
   */
  public record Result(LlamaConfig config, int batch, int seqLen, int timedSteps, double stepSeconds,
      Map<String, Double> groupSeconds) {

    /** Forward + backward FLOPs of one step, from the config. */
    public double flops() {
      return ModelFlops.trainingStep(config, batch, seqLen);
    }

    public Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("model", config.toString());
      m.put("batch", batch);
      m.put("seq_len", seqLen);
      m.put("timed_steps", timedSteps);
      m.put("step_seconds", stepSeconds);
      m.put("tokens_per_second", batch * (double) seqLen / stepSeconds);
      m.put("flops_per_step", flops());
      m.put("gflops_per_second", flops() / stepSeconds / 1e9);
      m.put("breakdown_seconds", groupSeconds);
      return m;
    }
  }

  private TrainStepBench() {}

  /**
   * @param warmup untimed steps first; {@code steps} timed ones after
   * @param clock nanoseconds
   */
  public static Result run(LlamaConfig config, int batch, int seqLen, int warmup, int steps, long seed,
      LongSupplier clock) {
    return run(config, batch, seqLen, warmup, steps, seed, clock, true);
  }

  /** As the other {@code run}; without {@code breakdown}, the result's groups are empty. */
  public static Result run(LlamaConfig config, int batch, int seqLen, int warmup, int steps, long seed,
      LongSupplier clock, boolean breakdown) {
    if (batch < 1 || seqLen < 1 || warmup < 0 || steps < 1) {
      throw new IllegalArgumentException("batch (" + batch + "), seq_len (" + seqLen + ") and steps ("
          + steps + ") must be >= 1 and warm-up (" + warmup + ") >= 0");
    }
    if (seqLen > config.maxPositionEmbeddings()) {
      throw new IllegalArgumentException("seq_len (" + seqLen + ") exceeds max_position_embeddings ("
          + config.maxPositionEmbeddings() + ")");
    }
    try (NDManager root = NDManager.newBaseManager(); LlamaModel model = LlamaModel.random(config, root, seed)) {
      Map<String, NDArray> params = model.namedParameters();
      params.values().forEach(p -> p.setRequiresGradient(true));
      Random rng = new Random(seed);
      long[] tokens = rng.longs((long) batch * (seqLen + 1), 0, config.vocabSize()).toArray();
      try (AdamW opt = new AdamW(params, AdamW.matricesDecay(params), AdamW.Hyper.defaults(0.1), root)) {
        for (int i = 0; i < warmup; i++) {
          step(model, params, opt, tokens, batch, seqLen);
        }
        long start = clock.getAsLong();
        for (int i = 0; i < steps; i++) {
          step(model, params, opt, tokens, batch, seqLen);
        }
        double stepSeconds = (clock.getAsLong() - start) / 1e9 / steps;
        Map<String, Double> groups = new LinkedHashMap<>();
        if (breakdown) {
          groups.putAll(new Breakdown(model, params, opt, batch, seqLen, clock, steps).run());
          double sum = groups.values().stream().mapToDouble(Double::doubleValue).sum();
          groups.put("java_and_overhead", stepSeconds - sum);
        }
        return new Result(config, batch, seqLen, steps, stepSeconds, groups);
      } finally {
        params.values().forEach(p -> p.setRequiresGradient(false));
      }
    }
  }

  /** One pretraining step, as {@link Pretrainer} takes it (one micro-batch). */
  private static void step(LlamaModel model, Map<String, NDArray> params, AdamW opt, long[] tokens,
      int batch, int seqLen) {
    try (NDManager m = model.manager().newSubManager();
        GradientCollector gc = m.getEngine().newGradientCollector()) {
      NDArray all = m.create(tokens, new Shape(batch, seqLen + 1));
      NDArray inputs = all.get(":, :-1");
      NDArray targets = all.get(":, 1:");
      NDArray mask = m.ones(new Shape(batch, seqLen), DataType.FLOAT32);
      NDArray nll = TokenLoss.crossEntropySum(model.forward(inputs), targets, mask);
      gc.backward(Scalars.div(nll, (float) (batch * seqLen)));
    }
    GradClip.clipGlobalNorm(params, 1.0);
    opt.update(1e-4);
  }

  /** Times each group of the step alone, forward and backward, on the step's shapes. */
  private record Breakdown(LlamaModel model, Map<String, NDArray> params, AdamW opt, int batch, int seqLen,
      LongSupplier clock, int reps) {

    Map<String, Double> run() {
      Map<String, Double> out = new LinkedHashMap<>();
      out.put("projections", time(this::projections));
      out.put("attention", time(this::attention));
      out.put("norms_activations", time(this::normsActivations));
      out.put("vocabulary_loss", time(this::vocabularyLoss));
      out.put("optimizer", time(this::optimizer));
      return out;
    }

    private double time(java.util.function.Consumer<NDManager> group) {
      try (NDManager m = model.manager().newSubManager()) {
        group.accept(m); // untimed first run
      }
      long start = clock.getAsLong();
      for (int i = 0; i < reps; i++) {
        try (NDManager m = model.manager().newSubManager()) {
          group.accept(m);
        }
      }
      return (clock.getAsLong() - start) / 1e9 / reps;
    }

    private LlamaConfig c() {
      return model.config();
    }

    private NDArray input(NDManager m, long... shape) {
      NDArray x = m.randomNormal(new Shape(shape));
      x.setRequiresGradient(true);
      return x;
    }

    private void projections(NDManager m) {
      long n = (long) batch * seqLen;
      for (int i = 0; i < c().numHiddenLayers(); i++) {
        String p = "model.layers." + i + ".";
        try (GradientCollector gc = m.getEngine().newGradientCollector()) {
          NDArray x = input(m, n, c().hiddenSize());
          NDArray a = input(m, n, (long) c().numAttentionHeads() * c().headDim());
          NDArray h = input(m, n, c().intermediateSize());
          NDArray sum = linear(x, params.get(p + "self_attn.q_proj.weight")).sum()
              .add(linear(x, params.get(p + "self_attn.k_proj.weight")).sum())
              .add(linear(x, params.get(p + "self_attn.v_proj.weight")).sum())
              .add(linear(a, params.get(p + "self_attn.o_proj.weight")).sum())
              .add(linear(x, params.get(p + "mlp.gate_proj.weight")).sum())
              .add(linear(x, params.get(p + "mlp.up_proj.weight")).sum())
              .add(linear(h, params.get(p + "mlp.down_proj.weight")).sum());
          gc.backward(sum);
        }
      }
    }

    private void attention(NDManager m) {
      int heads = c().numAttentionHeads();
      int kv = c().numKeyValueHeads();
      int hd = c().headDim();
      RotaryEmbedding rope = ((Attention) model.layers().get(0).mixer()).core().rope();
      float[] mask = new float[seqLen * seqLen];
      for (int i = 0; i < seqLen; i++) {
        for (int j = i + 1; j < seqLen; j++) {
          mask[i * seqLen + j] = Float.NEGATIVE_INFINITY;
        }
      }
      NDArray causal = m.create(mask, new Shape(seqLen, seqLen));
      for (int layer = 0; layer < c().numHiddenLayers(); layer++) {
        try (GradientCollector gc = m.getEngine().newGradientCollector()) {
          NDArray q = rope.apply(input(m, batch, heads, seqLen, hd), 0); // (B, H, T, hd)
          NDArray k = rope.apply(input(m, batch, kv, seqLen, hd), 0); // (B, KV, T, hd)
          NDArray v = input(m, batch, kv, seqLen, hd);
          NDArray qg = q.reshape(batch, kv, heads / kv, seqLen, hd); // (B, KV, G, T, hd)
          NDArray scores = Scalars.div(qg.matMul(k.expandDims(2).transpose(0, 1, 2, 4, 3)), (float) Math.sqrt(hd));
          NDArray out = scores.add(causal).softmax(4).matMul(v.expandDims(2)); // (B, KV, G, T, hd)
          gc.backward(out.reshape(batch, heads, seqLen, hd).transpose(0, 2, 1, 3).sum());
        }
      }
    }

    private void normsActivations(NDManager m) {
      long n = (long) batch * seqLen;
      for (DecoderLayer layer : model.layers()) {
        try (GradientCollector gc = m.getEngine().newGradientCollector()) {
          NDArray x = input(m, batch, seqLen, c().hiddenSize());
          NDArray g = input(m, n, c().intermediateSize());
          NDArray u = input(m, n, c().intermediateSize());
          NDArray h = x.add(layer.inputNorm().forward(x));
          NDArray y = h.add(layer.postNorm().forward(h));
          NDArray act = g.mul(Activation.sigmoid(g)).mul(u);
          gc.backward(y.sum().add(act.sum()));
        }
      }
      try (GradientCollector gc = m.getEngine().newGradientCollector()) {
        gc.backward(model.backbone().norm().forward(input(m, batch, seqLen, c().hiddenSize())).sum());
      }
    }

    private void vocabularyLoss(NDManager m) {
      try (GradientCollector gc = m.getEngine().newGradientCollector()) {
        NDArray h = input(m, batch, seqLen, c().hiddenSize());
        NDArray targets = m.randomInteger(0, c().vocabSize(), new Shape(batch, seqLen), DataType.INT64);
        NDArray mask = m.ones(new Shape(batch, seqLen), DataType.FLOAT32);
        gc.backward(TokenLoss.crossEntropySum(model.logits(h), targets, mask));
      }
    }

    private void optimizer(NDManager m) {
      // The step's gradients are still attached (zeroed by its update); lr 0 leaves the weights.
      GradClip.clipGlobalNorm(params, 1.0);
      opt.update(0);
    }

    private static NDArray linear(NDArray x, NDArray w) {
      return x.getNDArrayInternal().linear(x, w, null).singletonOrThrow();
    }
  }
}
