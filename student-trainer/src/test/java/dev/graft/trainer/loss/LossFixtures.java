package dev.graft.trainer.loss;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Small distillation problems in plain arrays, their evaluation through DJL, and their reference
 * value and finite-difference gradient from {@link LossReference}.
 */
final class LossFixtures {

  /** The divergences every test runs over. */
  static Stream<Divergence> divergences() {
    return Stream.of("forward_kl", "reverse_kl", "jsd:0.3", "skew_kl:0.2", "tv")
        .map(Divergence::parse);
  }

  /** Step of the central finite difference, on the double reference. */
  static final double FD_EPS = 1e-4;

  private LossFixtures() {}

  /**
   * A problem, row-major: position {@code pos} = b·T + t owns {@code [pos·V, (pos + 1)·V)}.
   *
   * @param logits the student's raw logits (B, T, V)
   * @param teacher the teacher's log-probs at the problem's τ (B, T, V)
   * @param mask (B, T)
   */
  record Problem(int b, int t, int v, float tau, float[] logits, float[] teacher, float[] mask) {

    int positions() {
      return b * t;
    }

    Problem withLogits(float[] newLogits) {
      return new Problem(b, t, v, tau, newLogits, teacher, mask);
    }

    Problem withTeacher(float[] newTeacher) {
      return new Problem(b, t, v, tau, logits, newTeacher, mask);
    }

    Problem withMask(float... newMask) {
      return new Problem(b, t, v, tau, logits, teacher, newMask);
    }

    double[] logitsAt(int pos) {
      return toDouble(Arrays.copyOfRange(logits, pos * v, (pos + 1) * v));
    }

    double[] teacherAt(int pos) {
      return toDouble(Arrays.copyOfRange(teacher, pos * v, (pos + 1) * v));
    }
  }

  /** The teacher's top-k view of a problem: ids (B, T, k), log-probs (B, T, k), log tail (B, T). */
  record TopKData(int k, long[] ids, float[] logProbs, float[] logTail) {

    long[] idsAt(int pos) {
      return Arrays.copyOfRange(ids, pos * k, (pos + 1) * k);
    }

    double[] logProbsAt(int pos) {
      return toDouble(Arrays.copyOfRange(logProbs, pos * k, (pos + 1) * k));
    }
  }

  /** DJL's per-position values and the gradient of their sum wrt the student's logits. */
  record Result(float[] values, float[] gradient) {}

  /**
   * Student and teacher logits drawn from N(0, scale²), the teacher's log-probs at τ computed in
   * double, every position unmasked.
   */
  static Problem random(long seed, int b, int t, int v, float tau, double scale) {
    Random rnd = new Random(seed);
    int n = b * t * v;
    float[] logits = new float[n];
    double[] teacherLogits = new double[n];
    for (int i = 0; i < n; i++) {
      logits[i] = (float) (scale * rnd.nextGaussian());
      teacherLogits[i] = scale * rnd.nextGaussian();
    }
    float[] mask = new float[b * t];
    Arrays.fill(mask, 1f);
    return new Problem(b, t, v, tau, logits, teacherLogProbs(teacherLogits, v, tau), mask);
  }

  /** log_softmax(teacherLogits / τ) per position, in double, rounded to float. */
  static float[] teacherLogProbs(double[] teacherLogits, int v, float tau) {
    float[] out = new float[teacherLogits.length];
    for (int pos = 0; pos < teacherLogits.length / v; pos++) {
      double[] z = new double[v];
      for (int i = 0; i < v; i++) {
        z[i] = teacherLogits[pos * v + i] / tau;
      }
      double[] lp = LossReference.logSoftmax(z);
      for (int i = 0; i < v; i++) {
        out[pos * v + i] = (float) lp[i];
      }
    }
    return out;
  }

  /** The teacher's k most likely tokens, most likely first, and the log of the rest's mass. */
  static TopKData topK(Problem p, int k) {
    int n = p.positions();
    long[] ids = new long[n * k];
    float[] logProbs = new float[n * k];
    float[] logTail = new float[n];
    for (int pos = 0; pos < n; pos++) {
      double[] lp = p.teacherAt(pos);
      int[] order =
          IntStream.range(0, p.v())
              .boxed()
              .sorted(Comparator.comparingDouble((Integer i) -> -lp[i]))
              .mapToInt(Integer::intValue)
              .toArray();
      double tail = 0;
      for (int r = 0; r < p.v(); r++) {
        if (r < k) {
          ids[pos * k + r] = order[r];
          logProbs[pos * k + r] = (float) lp[order[r]];
        } else {
          tail += Math.exp(lp[order[r]]);
        }
      }
      logTail[pos] = (float) Math.log(tail); // −∞ when k = V
    }
    return new TopKData(k, ids, logProbs, logTail);
  }

  /** Every token as "top-k", k = V, in a shuffled order; the tail is empty (−∞). */
  static TopKData allTokensShuffled(Problem p, long seed) {
    Random rnd = new Random(seed);
    int n = p.positions();
    int v = p.v();
    long[] ids = new long[n * v];
    float[] logProbs = new float[n * v];
    float[] logTail = new float[n];
    for (int pos = 0; pos < n; pos++) {
      int[] perm = IntStream.range(0, v).toArray();
      for (int i = v - 1; i > 0; i--) {
        int j = rnd.nextInt(i + 1);
        int tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
      }
      for (int r = 0; r < v; r++) {
        ids[pos * v + r] = perm[r];
        logProbs[pos * v + r] = p.teacher()[pos * v + perm[r]];
      }
      logTail[pos] = Float.NEGATIVE_INFINITY;
    }
    return new TopKData(v, ids, logProbs, logTail);
  }

  /** The problem's teacher as DJL targets on {@code m}: full when {@code topK} is null. */
  static TeacherTargets targets(NDManager m, Problem p, TopKData topK) {
    if (topK == null) {
      return new TeacherTargets.Full(m.create(p.teacher(), new Shape(p.b(), p.t(), p.v())));
    }
    return new TeacherTargets.TopK(
        m.create(topK.ids(), new Shape(p.b(), p.t(), topK.k())),
        m.create(topK.logProbs(), new Shape(p.b(), p.t(), topK.k())),
        m.create(topK.logTail(), new Shape(p.b(), p.t())));
  }

  /** {@link DistillationLoss#perPosition} and the gradient of its sum, through DJL. */
  static Result evaluate(Divergence d, Problem p, TopKData topK) {
    try (NDManager m = NDManager.newBaseManager();
        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
      NDArray logits = m.create(p.logits(), new Shape(p.b(), p.t(), p.v()));
      logits.setRequiresGradient(true);
      NDArray mask = m.create(p.mask(), new Shape(p.b(), p.t()));
      NDArray values = DistillationLoss.perPosition(d, logits, targets(m, p, topK), mask, p.tau());
      gc.backward(values.sum());
      return new Result(values.toFloatArray(), logits.getGradient().toFloatArray());
    }
  }

  /** The reference value at one position, given that position's logits; 0 where masked. */
  static double referenceAt(Divergence d, Problem p, TopKData topK, int pos, double[] logits) {
    if (p.mask()[pos] == 0f) {
      return 0;
    }
    if (topK == null) {
      return LossReference.full(d, logits, p.teacherAt(pos), p.tau());
    }
    return LossReference.topK(
        d, logits, topK.idsAt(pos), topK.logProbsAt(pos), topK.logTail()[pos], p.tau());
  }

  /** The reference value at every position. */
  static double[] referenceValues(Divergence d, Problem p, TopKData topK) {
    double[] out = new double[p.positions()];
    for (int pos = 0; pos < out.length; pos++) {
      out[pos] = referenceAt(d, p, topK, pos, p.logitsAt(pos));
    }
    return out;
  }

  /** Central finite difference of the reference's sum wrt every logit, step {@link #FD_EPS}. */
  static double[] referenceGradient(Divergence d, Problem p, TopKData topK) {
    double[] grad = new double[p.logits().length];
    for (int pos = 0; pos < p.positions(); pos++) {
      for (int i = 0; i < p.v(); i++) {
        double[] z = p.logitsAt(pos);
        z[i] += FD_EPS;
        double up = referenceAt(d, p, topK, pos, z);
        z[i] -= 2 * FD_EPS;
        double down = referenceAt(d, p, topK, pos, z);
        grad[pos * p.v() + i] = (up - down) / (2 * FD_EPS);
      }
    }
    return grad;
  }

  static double[] toDouble(float[] a) {
    double[] out = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i];
    }
    return out;
  }
}
