package dev.graft.teacher;

import dev.graft.data.TokenBatch;
import java.util.stream.IntStream;

/**
 * Turns rows of log-probabilities into the outputs a teacher returns. Pure Java on row-major
 * arrays: {@code logProbs} holds {@code positions} rows of {@code vocab} values.
 */
public final class LogProbOps {

  /** Rows per parallel task; small rows are not worth a task each. */
  private static final int ROWS_PER_TASK = 16;

  private LogProbOps() {}

  /** The output {@code request} asks for, from (B·T, V) log-probs of B rows of T tokens. */
  public static Scores toScores(float[] logProbs, int batch, int length, int vocab,
      ScoreRequest request) {
    if (request instanceof ScoreRequest.HiddenStates) {
      throw new IllegalArgumentException("hidden states cannot be computed from log-probs");
    }
    if (request instanceof ScoreRequest.TopK topK) {
      return topK(logProbs, batch, length, vocab, topK.k());
    }
    if (request instanceof ScoreRequest.Targets t) {
      return new Scores.Targets(batch, length, targets(logProbs, vocab, t.targets()));
    }
    return new Scores.Full(batch, length, vocab, logProbs);
  }

  /**
   * Per position, the k largest log-probs (ties: lower id first) and the log of the mass of all
   * the other entries. The tail is a log-sum-exp over the non-top entries in double, so it stays
   * accurate when the top-k hold nearly all the mass (where {@code log(1 - sum)} would cancel);
   * it is {@code -Infinity} when k = V.
   */
  public static Scores.TopK topK(float[] logProbs, int batch, int length, int vocab, int k) {
    if (k < 1 || k > vocab) {
      throw new IllegalArgumentException("k (" + k + ") must be in [1, " + vocab + "]");
    }
    int positions = batch * length;
    int[] ids = new int[positions * k];
    float[] values = new float[positions * k];
    float[] tail = new float[positions];
    int tasks = (positions + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    IntStream.range(0, tasks).parallel().forEach(task -> {
      RowSelector sel = new RowSelector(vocab, k);
      int end = Math.min(positions, (task + 1) * ROWS_PER_TASK);
      for (int p = task * ROWS_PER_TASK; p < end; p++) {
        tail[p] = sel.select(logProbs, p * vocab, ids, values, p * k);
      }
    });
    return new Scores.TopK(batch, length, k, ids, values, tail);
  }

  /** Per position, the log-prob of the target id at the same (row, time). */
  public static float[] targets(float[] logProbs, int vocab, TokenBatch targets) {
    int[] ids = targets.ids();
    float[] out = new float[ids.length];
    for (int p = 0; p < ids.length; p++) {
      out[p] = logProbs[p * vocab + ids[p]];
    }
    return out;
  }

  /** log(sum(exp(x))) of a row, in double. */
  public static double logSumExp(float[] x, int offset, int n) {
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, x[offset + i]);
    }
    if (max == Double.NEGATIVE_INFINITY) {
      return max;
    }
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += Math.exp(x[offset + i] - max);
    }
    return max + Math.log(sum);
  }

  /** Top-k of one row with a size-k min-heap; reusable scratch, one per thread. */
  private static final class RowSelector {
    private final int k;
    private final int[] heap; // ids; heap[0] is the worst kept entry
    private final boolean[] chosen;
    private float[] row;
    private int base;

    RowSelector(int vocab, int k) {
      this.k = k;
      this.heap = new int[k];
      this.chosen = new boolean[vocab];
    }

    /** Writes the row's top-k at {@code out}; returns the log tail mass. */
    float select(float[] logProbs, int offset, int[] ids, float[] values, int out) {
      row = logProbs;
      base = offset;
      int vocab = chosen.length;
      for (int i = 0; i < k; i++) {
        heap[i] = i;
      }
      for (int i = k / 2 - 1; i >= 0; i--) {
        siftDown(i, k);
      }
      for (int i = k; i < vocab; i++) {
        if (better(i, heap[0])) {
          heap[0] = i;
          siftDown(0, k);
        }
      }
      for (int n = k - 1; n >= 0; n--) { // pop worst first: fills the output from the back
        int id = heap[0];
        ids[out + n] = id;
        values[out + n] = row[base + id];
        chosen[id] = true;
        heap[0] = heap[n];
        siftDown(0, n);
      }
      float tail = (float) tailLogMass(vocab);
      for (int n = 0; n < k; n++) {
        chosen[ids[out + n]] = false;
      }
      return tail;
    }

    private double tailLogMass(int vocab) {
      double max = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < vocab; i++) {
        if (!chosen[i]) {
          max = Math.max(max, row[base + i]);
        }
      }
      if (max == Double.NEGATIVE_INFINITY) {
        return max;
      }
      double sum = 0;
      for (int i = 0; i < vocab; i++) {
        if (!chosen[i]) {
          sum += Math.exp(row[base + i] - max);
        }
      }
      return max + Math.log(sum);
    }

    /** Whether id a ranks above id b: larger value, or equal value and lower id. */
    private boolean better(int a, int b) {
      float va = row[base + a];
      float vb = row[base + b];
      return va > vb || (va == vb && a < b);
    }

    private void siftDown(int i, int n) {
      while (true) {
        int l = 2 * i + 1;
        if (l >= n) {
          return;
        }
        int worst = l + 1 < n && better(heap[l], heap[l + 1]) ? l + 1 : l;
        if (!better(heap[i], heap[worst])) {
          return;
        }
        int tmp = heap[i];
        heap[i] = heap[worst];
        heap[worst] = tmp;
        i = worst;
      }
    }
  }
}
