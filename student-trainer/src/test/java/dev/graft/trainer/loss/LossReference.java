package dev.graft.trainer.loss;

/**
 * The distillation losses recomputed in double precision straight from their definitions, with no
 * DJL: the reference the tests compare {@link DistillationLoss} against. Only the documented
 * numerical conventions are shared with the code under test: teacher log-probs are floored at
 * log(Float.MIN_NORMAL), and the result is multiplied by τ².
 */
final class LossReference {

  static final double LOG_FLOOR = Math.log(Float.MIN_NORMAL);

  private LossReference() {}

  /** The divergence between two bucket distributions given by their log-probabilities. */
  static double divergence(Divergence d, double[] lp, double[] lq) {
    int n = lp.length;
    double[] p = new double[n];
    double[] q = new double[n];
    for (int i = 0; i < n; i++) {
      p[i] = Math.exp(lp[i]);
      q[i] = Math.exp(lq[i]);
    }
    if (d instanceof Divergence.ForwardKl) {
      return kl(p, lp, lq);
    } else if (d instanceof Divergence.ReverseKl) {
      return kl(q, lq, lp);
    } else if (d instanceof Divergence.Jsd jsd) {
      double beta = jsd.beta();
      double[] lm = logMix(p, q, beta);
      return beta * kl(p, lp, lm) + (1 - beta) * kl(q, lq, lm);
    } else if (d instanceof Divergence.SkewKl skew) {
      return kl(p, lp, logMix(p, q, skew.alpha()));
    } else if (d instanceof Divergence.TotalVariation) {
      double s = 0;
      for (int i = 0; i < n; i++) {
        s += Math.abs(p[i] - q[i]);
      }
      return 0.5 * s;
    }
    throw new IllegalArgumentException("no reference for " + d);
  }

  /** Σ a·(la − lb), with 0·anything = 0. */
  private static double kl(double[] a, double[] la, double[] lb) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      if (a[i] > 0) {
        s += a[i] * (la[i] - lb[i]);
      }
    }
    return s;
  }

  private static double[] logMix(double[] p, double[] q, double w) {
    double[] lm = new double[p.length];
    for (int i = 0; i < p.length; i++) {
      lm[i] = Math.log(w * p[i] + (1 - w) * q[i]);
    }
    return lm;
  }

  static double[] logSoftmax(double[] z) {
    double max = Double.NEGATIVE_INFINITY;
    for (double x : z) {
      max = Math.max(max, x);
    }
    double s = 0;
    for (double x : z) {
      s += Math.exp(x - max);
    }
    double lse = max + Math.log(s);
    double[] out = new double[z.length];
    for (int i = 0; i < z.length; i++) {
      out[i] = z[i] - lse;
    }
    return out;
  }

  private static double floored(double lp) {
    return Math.max(lp, LOG_FLOOR);
  }

  /**
   * τ² · D(p, q) at one position in full mode.
   *
   * @param logits the student's raw logits (V)
   * @param teacher the teacher's log-probs at τ (V)
   */
  static double full(Divergence d, double[] logits, double[] teacher, double tau) {
    double[] lq = logSoftmax(scaled(logits, tau));
    double[] lp = new double[teacher.length];
    for (int i = 0; i < lp.length; i++) {
      lp[i] = floored(teacher[i]);
    }
    return tau * tau * divergence(d, lp, lq);
  }

  /**
   * τ² · D(p, q) at one position over the teacher's top-k buckets plus the tail bucket. When the
   * ids cover the whole vocabulary both tails are empty and the tail bucket is left out, which is
   * the mathematical value (an empty bucket contributes nothing).
   */
  static double topK(
      Divergence d, double[] logits, long[] ids, double[] topLogProbs, double logTail, double tau) {
    double[] lqAll = logSoftmax(scaled(logits, tau));
    int k = ids.length;
    int v = logits.length;
    boolean[] inTop = new boolean[v];
    for (long id : ids) {
      inTop[(int) id] = true;
    }
    int n = k == v ? k : k + 1;
    double[] lp = new double[n];
    double[] lq = new double[n];
    for (int j = 0; j < k; j++) {
      lp[j] = floored(topLogProbs[j]);
      lq[j] = lqAll[(int) ids[j]];
    }
    if (k < v) {
      lp[k] = floored(logTail);
      double tailMass = 0;
      for (int i = 0; i < v; i++) {
        if (!inTop[i]) {
          tailMass += Math.exp(lqAll[i]);
        }
      }
      lq[k] = Math.log(tailMass);
    }
    return tau * tau * divergence(d, lp, lq);
  }

  private static double[] scaled(double[] logits, double tau) {
    double[] s = new double[logits.length];
    for (int i = 0; i < s.length; i++) {
      s[i] = logits[i] / tau;
    }
    return s;
  }
}
