package dev.graft.sampler.server;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.graft.data.TokenBatch;
import dev.graft.model.LlamaModel;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplingParams;
import java.util.ArrayList;
import java.util.List;

/**
 * Generation without a KV cache, the reference for tests and the baseline of
 * {@link SamplerBench}: every step runs the whole prefix of every unfinished prompt through the
 * model (right-padded to the longest; causal attention keeps the padding out of earlier
 * positions) and samples from the logits at each prompt's last position. Sampling is the same as
 * the engine's ({@link dev.graft.sampler.TokenSampler}, one RNG per prompt seeded
 * {@code seed + i}), so for the same weights it yields the same rollouts up to floating-point
 * rounding.
 */
public final class ReferenceGenerator {

  private ReferenceGenerator() {}

  /**
   * Completes every prompt with {@code model}, reporting {@code version} in the rollouts. Prompts
   * must be valid for the model (ids in the vocabulary, shorter than the context).
   */
  public static List<Rollout> generate(LlamaModel model, long version, List<int[]> prompts,
      SamplingParams params) {
    int context = model.config().maxPositionEmbeddings();
    List<Sequence> all = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      all.add(new Sequence(null, i, prompts.get(i).clone(), params.withSeed(params.seed() + i),
          context));
    }
    Rollout[] out = new Rollout[all.size()];
    List<Sequence> active = new ArrayList<>(all);
    while (!active.isEmpty()) {
      float[][] logits = nextLogits(model, active);
      List<Sequence> next = new ArrayList<>();
      for (int i = 0; i < active.size(); i++) {
        Sequence s = active.get(i);
        Rollout.Finish finish = s.accept(logits[i]);
        if (finish == null) {
          next.add(s);
        } else {
          out[s.index] = s.toRollout(0, version, finish);
        }
      }
      active = next;
    }
    return List.of(out);
  }

  /** Next-token logits of each sequence after a full forward pass over its prefix, (B, V). */
  private static float[][] nextLogits(LlamaModel model, List<Sequence> batch) {
    int b = batch.size();
    int t = batch.stream().mapToInt(Sequence::length).max().orElseThrow();
    int[] ids = new int[b * t]; // right padding with id 0
    long[] last = new long[b];
    for (int i = 0; i < b; i++) {
      Sequence s = batch.get(i);
      int[] tokens = s.generatedTokens();
      System.arraycopy(s.prompt, 0, ids, i * t, s.prompt.length);
      System.arraycopy(tokens, 0, ids, i * t + s.prompt.length, tokens.length);
      last[i] = (long) i * t + s.length() - 1;
    }
    try (NDManager m = model.manager().newSubManager()) {
      NDArray h = model.hidden(new TokenBatch(b, t, ids).toNDArray(m)); // (B, T, D)
      NDArray lastHidden = h.reshape(b * t, -1).get(m, new NDIndex("{}", m.create(last))); // (B, D)
      float[] flat = model.logits(lastHidden.expandDims(1)).toFloatArray(); // (B, 1, V)
      int v = model.config().vocabSize();
      float[][] out = new float[b][];
      for (int i = 0; i < b; i++) {
        out[i] = java.util.Arrays.copyOfRange(flat, i * v, (i + 1) * v);
      }
      return out;
    }
  }
}
