package dev.graft.trainer.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.data.PackedSequences;
import dev.graft.model.LlamaModel;
import dev.graft.model.VocabBudget;
import dev.graft.trainer.data.Batch;
import dev.graft.trainer.loss.HeadChunks;
import java.util.Map;
import java.util.TreeMap;

/** Held-out cross-entropy and perplexity of a language model, overall and per domain. */
public final class LmEvaluator {

  /** Summed negative log-likelihood over {@code tokens} targets. */
  public record Score(double nll, long tokens) {
    public double loss() {
      return tokens == 0 ? Double.NaN : nll / tokens;
    }

    public double perplexity() {
      return Math.exp(loss());
    }

    Score plus(double n, long t) {
      return new Score(nll + n, tokens + t);
    }
  }

  /** Overall score and one per domain (sorted by name). */
  public record Result(Score overall, Map<String, Score> byDomain) {}

  private final int batchSize;
  private final VocabBudget budget;

  /** An evaluator whose (positions × vocabulary) buffers stay within {@link VocabBudget#DEFAULT}. */
  public LmEvaluator(int batchSize) {
    this(batchSize, VocabBudget.DEFAULT);
  }

  /**
   * @param batchSize sequences per forward pass
   * @param budget what (positions × vocabulary) buffers may take at once: the head runs a chunk of
   *     positions at a time within it
   */
  public LmEvaluator(int batchSize, VocabBudget budget) {
    if (batchSize <= 0) {
      throw new IllegalArgumentException("eval batch size (" + batchSize + ") must be > 0");
    }
    this.batchSize = batchSize;
    this.budget = java.util.Objects.requireNonNull(budget, "budget");
  }

  /**
   * Scores the first {@code limit} sequences of a fixed, domain-interleaved order (every domain is
   * represented even in a small sample); all of them when {@code limit <= 0}.
   */
  public Result evaluate(LlamaModel model, PackedSequences data, int limit) {
    int[] order = interleavedOrder(data);
    int n = limit <= 0 ? order.length : Math.min(limit, order.length);
    Score overall = new Score(0, 0);
    Map<String, Score> byDomain = new TreeMap<>();
    for (int from = 0; from < n; from += batchSize) {
      int[] idx = java.util.Arrays.copyOfRange(order, from, Math.min(n, from + batchSize));
      double[] nll = sequenceNll(model, Batch.of(data, idx));
      for (int i = 0; i < idx.length; i++) {
        long tokens = data.validTargets(idx[i]);
        overall = overall.plus(nll[i], tokens);
        byDomain.merge(data.domain(idx[i]), new Score(nll[i], tokens),
            (a, b) -> a.plus(b.nll(), b.tokens()));
      }
    }
    return new Result(overall, byDomain);
  }

  private double[] sequenceNll(LlamaModel model, Batch batch) {
    int t = batch.seqLen();
    double[] out = new double[batch.batchSize()];
    try (NDManager m = model.manager().newSubManager()) {
      NDArray hidden = model.hiddenReleasing(batch.inputs(m)); // (B, T, hidden)
      NDArray targets = batch.targets(m).reshape(1, -1, 1); // (1, B·T, 1)
      NDArray mask = batch.mask(m).reshape(1, -1); // (1, B·T)
      int chunk = HeadChunks.chunkPositions(budget, model.config().vocabSize());
      HeadChunks.forEach(hidden, chunk, (h, p0, p1) -> {
        NDArray logp = model.logits(h).logSoftmax(2); // (1, c, V)
        NDArray picked = logp.gather(targets.get(":, {}:{}, :", p0, p1), 2).squeeze(2); // (1, c)
        float[] nll = picked.mul(mask.get(":, {}:{}", p0, p1)).neg().toFloatArray();
        for (int p = p0; p < p1; p++) {
          out[p / t] += nll[p - p0];
        }
      });
    }
    return out;
  }

  /** Round-robin over domains: d0[0], d1[0], ..., d0[1], d1[1], ... */
  public static int[] interleavedOrder(PackedSequences data) {
    Map<String, java.util.List<Integer>> byDomain = new TreeMap<>();
    for (int i = 0; i < data.size(); i++) {
      byDomain.computeIfAbsent(data.domain(i), k -> new java.util.ArrayList<>()).add(i);
    }
    int[] out = new int[data.size()];
    int at = 0;
    for (int round = 0; at < out.length; round++) {
      for (var list : byDomain.values()) {
        if (round < list.size()) {
          out[at++] = list.get(round);
        }
      }
    }
    return out;
  }
}
