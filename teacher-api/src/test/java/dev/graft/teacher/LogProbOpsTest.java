package dev.graft.teacher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.graft.data.TokenBatch;
import org.junit.jupiter.api.Test;

class LogProbOpsTest {

  private static float[] logSoftmax(double... logits) {
    double max = Double.NEGATIVE_INFINITY;
    for (double z : logits) {
      max = Math.max(max, z);
    }
    double sum = 0;
    for (double z : logits) {
      sum += Math.exp(z - max);
    }
    float[] out = new float[logits.length];
    for (int i = 0; i < logits.length; i++) {
      out[i] = (float) (logits[i] - max - Math.log(sum));
    }
    return out;
  }

  @Test
  void topK_returnsLargestFirst_tiesGoToLowerId() {
    float[] row = {-3f, -1f, -2f, -1f, -5f};
    Scores.TopK top = LogProbOps.topK(row, 1, 1, 5, 3);
    assertArrayEquals(new int[] {1, 3, 2}, top.ids());
    assertArrayEquals(new float[] {-1f, -1f, -2f}, top.logProbs());
    double tail = Math.log(Math.exp(-3) + Math.exp(-5));
    assertEquals(tail, top.logTail()[0], 1e-6);
  }

  @Test
  void topK_tailStaysAccurate_whenTopHoldsNearlyAllMass() {
    // The top token holds all but ~1e-17 of the mass: 1 - sum(top) is 0 in float and double.
    double[] logits = new double[50];
    java.util.Arrays.fill(logits, -40);
    logits[7] = 0;
    float[] lp = logSoftmax(logits);
    Scores.TopK top = LogProbOps.topK(lp, 1, 1, 50, 1);
    assertEquals(7, top.ids()[0]);
    assertEquals(-40 + Math.log(49), top.logTail()[0], 1e-4);
  }

  @Test
  void topK_kEqualsVocab_tailIsNegativeInfinity() {
    float[] lp = logSoftmax(0.5, -1, 2, 0);
    Scores.TopK top = LogProbOps.topK(lp, 1, 1, 4, 4);
    assertEquals(Float.NEGATIVE_INFINITY, top.logTail()[0]);
    assertArrayEquals(new int[] {2, 0, 3, 1}, top.ids());
  }

  @Test
  void topK_manyRows_eachRowIndependent() {
    int rows = 70;
    int vocab = 11;
    float[] lp = new float[rows * vocab];
    for (int r = 0; r < rows; r++) {
      double[] z = new double[vocab];
      z[r % vocab] = 5; // row r's best id is r % vocab
      System.arraycopy(logSoftmax(z), 0, lp, r * vocab, vocab);
    }
    Scores.TopK top = LogProbOps.topK(lp, 7, 10, vocab, 2);
    for (int r = 0; r < rows; r++) {
      assertEquals(r % vocab, top.ids()[r * 2]);
      assertEquals(r % vocab == 0 ? 1 : 0, top.ids()[r * 2 + 1], "ties go to the lowest id");
    }
  }

  @Test
  void topK_kOutsideVocab_isRejected() {
    assertThrows(IllegalArgumentException.class, () -> LogProbOps.topK(new float[3], 1, 1, 3, 4));
  }

  @Test
  void targets_pickTheTargetOfEachPosition() {
    float[] lp = {0f, -1f, -2f, -3f, -4f, -5f}; // 2 positions of vocab 3
    float[] got = LogProbOps.targets(lp, 3, TokenBatch.of(new int[][] {{2, 0}}));
    assertArrayEquals(new float[] {-2f, -3f}, got);
  }
}
