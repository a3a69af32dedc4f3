package dev.graft.trainer.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.data.PackedSequences;
import dev.graft.model.LlamaModel;
import dev.graft.model.VocabBudget;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherScorer;
import dev.graft.trainer.data.Batch;
import dev.graft.trainer.loss.HeadChunks;
import dev.graft.trainer.pretrain.LmEvaluator;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Compares a student with the teacher on held-out sequences: KL(teacher ‖ student), both
 * perplexities and top-1 agreement, overall and per domain. The teacher's full distributions
 * (τ = 1, fp32) for the chosen sequences are fetched once and kept, so every evaluation of a run
 * compares against the same numbers: they take sequences × T × V × 4 bytes for the whole run.
 * The teacher is asked for as many sequences at a time as fit in the {@link VocabBudget}, and the
 * student's head and every comparison run a chunk of positions at a time within it.
 */
public final class DistillEvaluator {

  /** Overall and per-domain metrics. */
  public record Result(EvalMetrics overall, Map<String, EvalMetrics> byDomain) {}

  private final PackedSequences data;
  private final int[] chosen;
  private final int batchSize;
  private final int vocab;
  private final float[][] teacherLogProbs; // per chosen sequence, (T, V)
  private final VocabBudget budget;

  /**
   * @param data held-out sequences
   * @param sequences how many to score, taken round-robin over domains
   * @param batchSize sequences per teacher request and per student forward pass
   */
  public DistillEvaluator(PackedSequences data, int sequences, int batchSize, TeacherScorer teacher) {
    this(data, sequences, batchSize, teacher, VocabBudget.DEFAULT);
  }

  /**
   * @param budget what (positions × vocabulary) working buffers may take at once
   */
  public DistillEvaluator(PackedSequences data, int sequences, int batchSize, TeacherScorer teacher,
      VocabBudget budget) {
    if (data.size() == 0) {
      throw new IllegalArgumentException("no held-out sequences to evaluate on");
    }
    this.data = data;
    this.chosen = Arrays.copyOf(LmEvaluator.interleavedOrder(data), Math.min(sequences, data.size()));
    this.batchSize = batchSize;
    this.vocab = teacher.info().vocabSize();
    this.teacherLogProbs = new float[chosen.length][];
    this.budget = budget;
    int perRequest = Math.max(1, Math.min(batchSize, budget.positions(vocab, 1) / data.seqLen()));
    for (int from = 0; from < chosen.length; from += perRequest) {
      int to = Math.min(chosen.length, from + perRequest);
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
    for (int start = 0; start < n; start += batchSize) {
      int from = start;
      int to = Math.min(n, from + batchSize);
      Batch batch = batch(from, to);
      float[] d = new float[(to - from) * data.seqLen()];
      try (NDManager m = model.manager().newSubManager()) {
        NDArray hidden = model.hiddenReleasing(batch.inputs(m)); // (b, T, hidden)
        HeadChunks.forEach(hidden, chunk(model), (h, p0, p1) -> {
          NDArray logq = model.logits(h).logSoftmax(2); // (1, c, V)
          NDArray diff = logq.sub(teacher(h.getManager(), from, p0, p1)).abs().max(new int[] {2}); // (1, c)
          System.arraycopy(diff.toFloatArray(), 0, d, p0, p1 - p0);
        });
      }
      for (int i = 0; i < d.length; i++) {
        if (batch.mask()[i] > 0) {
          worst = Math.max(worst, Float.isNaN(d[i]) ? Double.POSITIVE_INFINITY : d[i]);
        }
      }
    }
    return worst;
  }

  private EvalMetrics[] scoreBatch(LlamaModel model, int from, int to) {
    Batch batch = batch(from, to);
    int n = (to - from) * data.seqLen();
    float[] kl = new float[n];
    float[] sNll = new float[n];
    float[] tNll = new float[n];
    long[] sTop = new long[n];
    long[] tTop = new long[n];
    try (NDManager m = model.manager().newSubManager()) {
      NDArray hidden = model.hiddenReleasing(batch.inputs(m)); // (b, T, hidden)
      NDArray targets = batch.targets(m).reshape(1, -1, 1); // (1, b·T, 1)
      HeadChunks.forEach(hidden, chunk(model), (h, p0, p1) -> {
        int c = p1 - p0;
        NDArray logq = model.logits(h).logSoftmax(2); // (1, c, V)
        NDArray logp = teacher(h.getManager(), from, p0, p1); // (1, c, V)
        NDArray at = targets.get(":, {}:{}, :", p0, p1); // (1, c, 1)
        System.arraycopy(logp.exp().mul(logp.sub(logq)).sum(new int[] {2}).toFloatArray(), 0, kl, p0, c);
        System.arraycopy(logq.gather(at, 2).neg().toFloatArray(), 0, sNll, p0, c);
        System.arraycopy(logp.gather(at, 2).neg().toFloatArray(), 0, tNll, p0, c);
        System.arraycopy(logq.argMax(2).toLongArray(), 0, sTop, p0, c);
        System.arraycopy(logp.argMax(2).toLongArray(), 0, tTop, p0, c);
      });
    }
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

  private int chunk(LlamaModel model) {
    return HeadChunks.chunkPositions(budget, model.config().vocabSize());
  }

  private Batch batch(int from, int to) {
    return Batch.of(data, Arrays.copyOfRange(chosen, from, to));
  }

  /** The kept teacher log-probs of flat positions [p0, p1) of the sequences from {@code from} on. */
  private NDArray teacher(NDManager m, int from, int p0, int p1) {
    int t = data.seqLen();
    float[] flat = new float[(p1 - p0) * vocab];
    for (int p = p0; p < p1; p++) {
      System.arraycopy(teacherLogProbs[from + p / t], (p % t) * vocab, flat, (p - p0) * vocab, vocab);
    }
    return m.create(flat, new Shape(1, p1 - p0, vocab)); // (1, c, V)
  }
}
