package dev.graft.trainer.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.data.PackedSequences;
import dev.graft.model.LlamaModel;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherScorer;
import dev.graft.trainer.data.Batch;
import dev.graft.trainer.pretrain.LmEvaluator;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Compares a student with the teacher on held-out sequences: KL(teacher ‖ student), both
 * perplexities and top-1 agreement, overall and per domain. The teacher's full distributions
 * (τ = 1, fp32) for the chosen sequences are fetched once and kept, so every evaluation of a run
 * compares against the same numbers.
 */
public final class DistillEvaluator {

  /** Overall and per-domain metrics. */
  public record Result(EvalMetrics overall, Map<String, EvalMetrics> byDomain) {}

  private final PackedSequences data;
  private final int[] chosen;
  private final int batchSize;
  private final int vocab;
  private final float[][] teacherLogProbs; // per chosen sequence, (T, V)

  /**
   * @param data held-out sequences
   * @param sequences how many to score, taken round-robin over domains
   * @param batchSize sequences per teacher request and per student forward pass
   */
  public DistillEvaluator(PackedSequences data, int sequences, int batchSize, TeacherScorer teacher) {
    if (data.size() == 0) {
      throw new IllegalArgumentException("no held-out sequences to evaluate on");
    }
    this.data = data;
    this.chosen = Arrays.copyOf(LmEvaluator.interleavedOrder(data), Math.min(sequences, data.size()));
    this.batchSize = batchSize;
    this.vocab = teacher.info().vocabSize();
    this.teacherLogProbs = new float[chosen.length][];
    for (int from = 0; from < chosen.length; from += batchSize) {
      int to = Math.min(chosen.length, from + batchSize);
      Scores.Full full = (Scores.Full) teacher.score(batch(from, to).inputs(), new ScoreRequest.Full(1f));
      int per = data.seqLen() * vocab;
      for (int i = from; i < to; i++) {
        teacherLogProbs[i] = Arrays.copyOfRange(full.logProbs(), (i - from) * per, (i - from + 1) * per);
      }
    }
  }

  /** Sequences scored. */
  public int sequences() {
    return chosen.length;
  }

  /** Evaluates {@code model} against the teacher. */
  public Result evaluate(LlamaModel model) {
    EvalMetrics overall = EvalMetrics.ZERO;
    Map<String, EvalMetrics> byDomain = new TreeMap<>();
    for (int from = 0; from < chosen.length; from += batchSize) {
      int to = Math.min(chosen.length, from + batchSize);
      EvalMetrics[] perSeq = scoreBatch(model, from, to);
      for (int i = from; i < to; i++) {
        overall = overall.plus(perSeq[i - from]);
        byDomain.merge(data.domain(chosen[i]), perSeq[i - from], EvalMetrics::plus);
      }
    }
    return new Result(overall, byDomain);
  }

  /**
   * The largest |log q − log p| over the valid positions of the first {@code sequences} held-out
   * sequences: the exactness check of a retrofit at α = 0.
   */
  public double maxLogProbDifference(LlamaModel model, int sequences) {
    int n = Math.min(sequences, chosen.length);
    double worst = 0;
    for (int from = 0; from < n; from += batchSize) {
      int to = Math.min(n, from + batchSize);
      try (NDManager m = model.manager().newSubManager()) {
        Batch batch = batch(from, to);
        NDArray logq = model.forward(batch.inputs(m)).logSoftmax(2); // (b, T, V)
        NDArray diff = logq.sub(teacher(m, from, to)).abs().max(new int[] {2}); // (b, T)
        float[] d = diff.mul(batch.mask(m)).toFloatArray();
        for (float v : d) {
          worst = Math.max(worst, Float.isNaN(v) ? Double.POSITIVE_INFINITY : v);
        }
      }
    }
    return worst;
  }

  private EvalMetrics[] scoreBatch(LlamaModel model, int from, int to) {
    try (NDManager m = model.manager().newSubManager()) {
      Batch batch = batch(from, to);
      NDArray logq = model.forward(batch.inputs(m)).logSoftmax(2); // (b, T, V)
      NDArray logp = teacher(m, from, to); // (b, T, V)
      NDArray targets = batch.targets(m).expandDims(2); // (b, T, 1)
      float[] kl = logp.exp().mul(logp.sub(logq)).sum(new int[] {2}).toFloatArray(); // (b, T)
      float[] sNll = logq.gather(targets, 2).neg().toFloatArray();
      float[] tNll = logp.gather(targets, 2).neg().toFloatArray();
      long[] sTop = logq.argMax(2).toLongArray();
      long[] tTop = logp.argMax(2).toLongArray();
      int t = data.seqLen();
      EvalMetrics[] out = new EvalMetrics[to - from];
      for (int r = 0; r < out.length; r++) {
        long tokens = 0;
        long agree = 0;
        double k = 0;
        double s = 0;
        double te = 0;
        for (int i = r * t; i < (r + 1) * t; i++) {
          if (batch.mask()[i] > 0) {
            tokens++;
            k += kl[i];
            s += sNll[i];
            te += tNll[i];
            agree += sTop[i] == tTop[i] ? 1 : 0;
          }
        }
        out[r] = new EvalMetrics(tokens, k, s, te, agree);
      }
      return out;
    }
  }

  private Batch batch(int from, int to) {
    return Batch.of(data, Arrays.copyOfRange(chosen, from, to));
  }

  private NDArray teacher(NDManager m, int from, int to) {
    int per = data.seqLen() * vocab;
    float[] flat = new float[(to - from) * per];
    for (int i = from; i < to; i++) {
      System.arraycopy(teacherLogProbs[i], 0, flat, (i - from) * per, per);
    }
    return m.create(flat, new Shape(to - from, data.seqLen(), vocab));
  }
}
