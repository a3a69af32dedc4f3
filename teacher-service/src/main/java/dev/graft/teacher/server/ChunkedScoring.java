package dev.graft.teacher.server;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.LlamaModel;
import dev.graft.model.Scalars;
import dev.graft.model.VocabBudget;
import dev.graft.teacher.LogProbOps;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;

/**
 * One job's output from its final hidden states, a chunk of positions at a time: per chunk the
 * head's logits, {@code log_softmax(logits / τ)} and the requested reduction exist, each at most
 * (chunk × V) floats, so the memory over the vocabulary is set by the {@link VocabBudget}, not by
 * the request. Only the answer itself grows with the request: (positions × k) for top-k,
 * (positions) for targets and (positions × V) for the full distribution, which is what was asked
 * for.
 *
 * <p>Top-k runs in the engine on the scaled logits z = logits / τ, without a log-softmax pass:
 * {@code topK(k + 1)} gives the k most likely ids and the largest remaining logit m, and one
 * masked pass gives {@code S = Σ exp(z − m)} over the row with the top-k set to −∞. In double
 * precision, the log-normaliser is {@code L = z₀ + log(Σ_top exp(z_j − z₀) + S·exp(m − z₀))} (a sum
 * of positive terms), each kept log-prob is {@code z_j − L} and the tail is {@code m + log S − L}:
 * no cancellation however small the tail, and two passes over the row fewer than log-softmax
 * followed by the same selection. Rows whose k-th and (k+1)-th values tie, where the engine may
 * keep another id than the lowest, are selected again in Java ({@link LogProbOps#topK}) so that
 * ties always keep the lower id.
 */
final class ChunkedScoring {

  /**
   * (chunk × V) float32 buffers alive at once at the peak (all live until the chunk's manager
   * closes): logits, scaled logits, and then the log-probs (full, targets) or top-k's masked copy
   * (shifted in place) and its exponentials.
   */
  static final int LIVE_COPIES = 4;

  private ChunkedScoring() {}

  /**
   * @param hidden (1, B·T, hidden) final hidden states of the job's positions, row-major
   * @return the output {@code request} asks for
   */
  static Scores score(LlamaModel model, NDArray hidden, int batch, int length, ScoreRequest request,
      VocabBudget budget) {
    int vocab = model.config().vocabSize();
    int positions = batch * length;
    int chunk = budget.positions(vocab, LIVE_COPIES);
    Output out = Output.of(request, batch, length, vocab);
    for (int p0 = 0; p0 < positions; p0 += chunk) {
      int p1 = Math.min(positions, p0 + chunk);
      try (NDManager m = hidden.getManager().newSubManager()) {
        NDArray h = hidden.get(":, {}:{}", p0, p1); // (1, c, hidden)
        h.attach(m); // every array derived from h lives and dies with this chunk
        NDArray logits = model.logits(h); // (1, c, V)
        float tau = request.temperature();
        out.write(tau == 1f ? logits : Scalars.div(logits, tau), p0, p1); // (1, c, V)
      }
    }
    return out.scores();
  }

  /**
   * The output {@code request} asks for from given log-probs (or any logits at the request's
   * temperature: each output normalises its rows), {@code chunk} positions at a time: the
   * reductions of {@link #score} without the head, for tests.
   *
   * @param logProbs (1, B·T, V) log-probs at the request's temperature
   */
  static Scores reduce(NDArray logProbs, int batch, int length, ScoreRequest request, int chunk) {
    int vocab = (int) logProbs.getShape().get(2);
    Output out = Output.of(request, batch, length, vocab);
    for (int p0 = 0; p0 < batch * length; p0 += chunk) {
      int p1 = Math.min(batch * length, p0 + chunk);
      try (NDManager m = logProbs.getManager().newSubManager()) {
        NDArray lp = logProbs.get(":, {}:{}, :", p0, p1); // (1, c, V)
        lp.attach(m);
        out.write(lp, p0, p1);
      }
    }
    return out.scores();
  }

  /** Where one kind of output accumulates, chunk by chunk. */
  private abstract static sealed class Output {
    final int batch;
    final int length;
    final int vocab;

    Output(int batch, int length, int vocab) {
      this.batch = batch;
      this.length = length;
      this.vocab = vocab;
    }

    static Output of(ScoreRequest request, int batch, int length, int vocab) {
      if (request instanceof ScoreRequest.TopK t) {
        return new TopK(batch, length, vocab, t.k());
      }
      if (request instanceof ScoreRequest.Targets t) {
        return new Targets(batch, length, vocab, t.targets().ids());
      }
      return new Full(batch, length, vocab);
    }

    /**
     * Consumes positions [p0, p1): {@code z} is (1, p1 − p0, V), the logits at the request's
     * temperature (log-probs up to a constant per row).
     */
    abstract void write(NDArray z, int p0, int p1);

    abstract Scores scores();
  }

  private static final class Full extends Output {
    private final int size;
    private float[] logProbs;

    Full(int batch, int length, int vocab) {
      super(batch, length, vocab);
      this.size = Math.multiplyExact(batch * length, vocab);
    }

    @Override
    void write(NDArray z, int p0, int p1) {
      float[] chunk = z.logSoftmax(2).toFloatArray();
      if (chunk.length == size) {
        logProbs = chunk; // one chunk holds the whole answer: no second copy
        return;
      }
      if (logProbs == null) {
        logProbs = new float[size];
      }
      System.arraycopy(chunk, 0, logProbs, p0 * vocab, chunk.length);
    }

    @Override
    Scores scores() {
      return new Scores.Full(batch, length, vocab, logProbs);
    }
  }

  private static final class Targets extends Output {
    private final int[] ids;
    private final float[] logProbs;

    Targets(int batch, int length, int vocab, int[] ids) {
      super(batch, length, vocab);
      this.ids = ids;
      this.logProbs = new float[batch * length];
    }

    @Override
    void write(NDArray z, int p0, int p1) {
      NDArray lp = z.logSoftmax(2);
      long[] at = new long[p1 - p0];
      for (int p = p0; p < p1; p++) {
        at[p - p0] = ids[p];
      }
      NDArray index = lp.getManager().create(at, new Shape(1, at.length, 1));
      float[] picked = lp.gather(index, 2).toFloatArray(); // (1, c, 1)
      System.arraycopy(picked, 0, logProbs, p0, picked.length);
    }

    @Override
    Scores scores() {
      return new Scores.Targets(batch, length, logProbs);
    }
  }

  private static final class TopK extends Output {
    private final int k;
    private final int[] ids;
    private final float[] values;
    private final float[] tail;

    TopK(int batch, int length, int vocab, int k) {
      super(batch, length, vocab);
      this.k = k;
      this.ids = new int[batch * length * k];
      this.values = new float[batch * length * k];
      this.tail = new float[batch * length];
    }

    @Override
    void write(NDArray z, int p0, int p1) {
      int c = p1 - p0;
      int kk = Math.min(k + 1, vocab); // one more than asked: the largest tail value, and ties
      NDList top = z.topK(kk, 2, true, true); // values, indices: (1, c, kk)
      float[] v = top.get(0).toFloatArray();
      long[] id = top.get(1).toLongArray();
      float[] rest = kk > k ? maskedSum(z, top.get(1), top.get(0)) : null;
      for (int r = 0; r < c; r++) {
        int p = p0 + r;
        int o = r * kk;
        if (kk > k && v[o + k] == v[o + k - 1]) {
          // A tie across the cut: the engine may have kept another id than the lowest.
          float[] row = logProbs(z.get(":, {}, :", r).toFloatArray());
          Scores.TopK exact = LogProbOps.topK(row, 1, 1, vocab, k);
          System.arraycopy(exact.ids(), 0, ids, p * k, k);
          System.arraycopy(exact.logProbs(), 0, values, p * k, k);
          tail[p] = exact.logTail()[0];
          continue;
        }
        double first = v[o]; // the row's largest logit
        double kept = 0;
        for (int j = 0; j < k; j++) {
          kept += Math.exp(v[o + j] - first);
        }
        double m = kk > k ? v[o + k] : Double.NEGATIVE_INFINITY;
        boolean hasTail = m != Double.NEGATIVE_INFINITY;
        double logNorm = first + Math.log(kept + (hasTail ? rest[r] * Math.exp(m - first) : 0));
        for (int j = 0; j < k; j++) {
          ids[p * k + j] = (int) id[o + j];
          values[p * k + j] = (float) (v[o + j] - logNorm);
        }
        orderTies(p * k);
        tail[p] = hasTail ? (float) (m + Math.log(rest[r]) - logNorm) : Float.NEGATIVE_INFINITY;
      }
    }

    /**
     * Per position, S = Σ exp(z − m) over the ids outside the top-k, where m (the (k+1)-th value)
     * is the largest of them: each term is at most 1 and the sum at least 1.
     */
    private float[] maskedSum(NDArray z, NDArray topIds, NDArray topValues) {
      NDArray keptIds = topIds.get(":, :, :{}", k); // (1, c, k)
      NDArray m = topValues.get(":, :, {}:{}", k, k + 1); // (1, c, 1)
      NDArray minusInf = z.getManager().full(keptIds.getShape(), Float.NEGATIVE_INFINITY);
      NDArray rest = z.scatter(keptIds, minusInf, 2); // (1, c, V), the top-k at −∞
      return rest.subi(m).exp().sum(new int[] {2}).toFloatArray(); // (1, c)
    }

    /** One row of logits as log-probs, normalised in double precision. */
    private static float[] logProbs(float[] z) {
      double logNorm = LogProbOps.logSumExp(z, 0, z.length);
      float[] lp = new float[z.length];
      for (int i = 0; i < z.length; i++) {
        lp[i] = (float) (z[i] - logNorm);
      }
      return lp;
    }

    /** Equal values in the engine's order: sorts them by id (a tie keeps the lower id first). */
    private void orderTies(int at) {
      for (int i = at + 1; i < at + k; i++) {
        int id = ids[i];
        float value = values[i];
        int j = i - 1;
        while (j >= at && values[j] == value && ids[j] > id) {
          ids[j + 1] = ids[j];
          values[j + 1] = values[j];
          j--;
        }
        ids[j + 1] = id;
        values[j + 1] = value;
      }
    }

    @Override
    Scores scores() {
      return new Scores.TopK(batch, length, k, ids, values, tail);
    }
  }
}
