package dev.graft.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The sequence-level distillation loss against a plain-Java computation: cross-entropy on the
 * teacher's tokens only at continuation positions, plus kl_weight times the divergence there, and
 * the run's own loss on the other rows.
 */
class SeqKdLossTest {

  private static final int B = 2;
  private static final int T = 5;
  private static final int V = 7;
  private final NDManager m = NDManager.newBaseManager();
  private final Random rng = new Random(11);
  private final float[] logits = random(B * T * V, 3);
  private final float[] teacher = logSoftmaxRows(random(B * T * V, 2));
  private final long[] targets = new long[B * T];
  // row 0: a corpus row (the run's own loss on every position); row 1: a teacher row whose prompt
  // is positions 0-1 and whose continuation is predicted at positions 1-3 (position 4 is padding).
  private final float[] base = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
  private final float[] continuation = {0, 0, 0, 0, 0, 0, 1, 1, 1, 0};

  SeqKdLossTest() {
    for (int i = 0; i < targets.length; i++) {
      targets[i] = rng.nextInt(V);
    }
  }

  @AfterEach
  void close() {
    m.close();
  }

  private double loss(Divergence d, float[] studentLogits, double ce, double kl) {
    return loss(d, studentLogits, base, ce, kl);
  }

  private double loss(Divergence d, float[] studentLogits, float[] baseWeights, double ce, double kl) {
    return SeqKdLoss.sum(d, m.create(studentLogits, new Shape(B, T, V)),
        new TeacherTargets.Full(m.create(teacher, new Shape(B, T, V))), m.create(targets, new Shape(B, T)),
        m.create(baseWeights, new Shape(B, T)), m.create(continuation, new Shape(B, T)), ce, kl, 1f).getFloat();
  }

  @Test
  void crossEntropyOnTheTeachersTokens_atContinuationPositionsOnly_equalsAnIndependentSum() {
    double expected = 0;
    for (int i = 0; i < B * T; i++) {
      expected += continuation[i] * -logSoftmax(logits, i)[(int) targets[i]];
    }
    Divergence ce = Divergence.parse("ce");
    float[] noCorpus = new float[B * T];
    assertEquals(expected, loss(ce, logits, noCorpus, 1, 0), 1e-4);
    assertEquals(2.5 * expected, loss(ce, logits, noCorpus, 2.5, 0), 1e-4, "scaled by ce_weight");
    double corpusCe = 0;
    for (int i = 0; i < B * T; i++) {
      corpusCe += base[i] * -logSoftmax(logits, i)[(int) targets[i]];
    }
    assertEquals(corpusCe + expected, loss(ce, logits, 1, 0), 1e-4, "a ce run: data CE on the corpus row too");
    // Logits at prompt and padding positions of the teacher row change nothing.
    float[] changed = logits.clone();
    for (int pos : new int[] {5, 9}) {
      for (int v = 0; v < V; v++) {
        changed[pos * V + v] += rng.nextFloat() * 10 - 5;
      }
    }
    assertEquals(loss(ce, logits, noCorpus, 1, 0), loss(ce, changed, noCorpus, 1, 0), 1e-6);
  }

  @Test
  void klWeight_addsTheDivergenceOnContinuationPositions_toTheRunsLossOnTheOtherRows() {
    Divergence fkl = Divergence.parse("forward_kl");
    double corpus = 0;
    double cont = 0;
    double ce = 0;
    for (int i = 0; i < B * T; i++) {
      double[] lq = logSoftmax(logits, i);
      double kl = 0;
      for (int v = 0; v < V; v++) {
        double lp = teacher[i * V + v];
        kl += Math.exp(lp) * (lp - lq[v]);
      }
      corpus += base[i] * kl;
      cont += continuation[i] * kl;
      ce += continuation[i] * -lq[(int) targets[i]];
    }
    assertTrue(cont > 1e-3, "a divergence to add: " + cont);
    assertEquals(corpus + ce, loss(fkl, logits, 1, 0), 1e-4, "kl_weight 0: the corpus row's KL + CE");
    assertEquals(corpus + ce + cont, loss(fkl, logits, 1, 1), 1e-4, "kl_weight 1 adds the divergence");
    assertEquals(corpus + 0.5 * cont, loss(fkl, logits, 0, 0.5), 1e-4, "ce_weight 0: the divergence alone");
  }

  @Test
  void klWeight_withADivergenceThatUsesNoTeacher_orANegativeWeight_isRefused() {
    String e = assertThrows(IllegalArgumentException.class,
        () -> loss(Divergence.parse("ce"), logits, 1, 1)).getMessage();
    assertEquals("seqkd.kl_weight 1.0 needs a divergence that uses the teacher, not ce", e);
    e = assertThrows(IllegalArgumentException.class,
        () -> loss(Divergence.parse("forward_kl"), logits, -1, 0)).getMessage();
    assertEquals("seqkd weights must be >= 0, got ce -1.0 and kl 0.0", e);
  }

  private float[] random(int n, double scale) {
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) (rng.nextGaussian() * scale);
    }
    return out;
  }

  private static double[] logSoftmax(float[] z, int position) {
    double max = Double.NEGATIVE_INFINITY;
    for (int v = 0; v < V; v++) {
      max = Math.max(max, z[position * V + v]);
    }
    double sum = 0;
    for (int v = 0; v < V; v++) {
      sum += Math.exp(z[position * V + v] - max);
    }
    double[] out = new double[V];
    for (int v = 0; v < V; v++) {
      out[v] = z[position * V + v] - max - Math.log(sum);
    }
    return out;
  }

  private static float[] logSoftmaxRows(float[] z) {
    float[] out = new float[z.length];
    for (int i = 0; i < z.length / V; i++) {
      double[] r = logSoftmax(z, i);
      for (int v = 0; v < V; v++) {
        out[i * V + v] = (float) r[v];
      }
    }
    return out;
  }
}
