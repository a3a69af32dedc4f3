package dev.graft.teacher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.graft.data.TokenBatch;
import org.junit.jupiter.api.Test;

class FakeTeacherTest {

  @Test
  void score_isDeterministic_normalised_andDependsOnSeedAndToken() {
    TokenBatch ids = TokenBatch.of(new int[][] {{1, 2, 1}});
    float[] a = ((Scores.Full) new FakeTeacher(40, 5).score(ids, new ScoreRequest.Full(1f))).logProbs();
    float[] b = ((Scores.Full) new FakeTeacher(40, 5).score(ids, new ScoreRequest.Full(1f))).logProbs();
    float[] c = ((Scores.Full) new FakeTeacher(40, 6).score(ids, new ScoreRequest.Full(1f))).logProbs();
    assertArrayEquals(a, b);
    assertNotEquals(a[0], c[0]);
    for (int p = 0; p < 3; p++) {
      assertEquals(0.0, LogProbOps.logSumExp(a, p * 40, 40), 1e-5);
    }
    assertArrayEquals(java.util.Arrays.copyOfRange(a, 0, 40), java.util.Arrays.copyOfRange(a, 80, 120),
        "same token, same distribution");
  }

  @Test
  void score_topK_isConsistentWithFull_andCountsCalls() {
    FakeTeacher fake = new FakeTeacher(30, 1);
    TokenBatch ids = TokenBatch.of(new int[][] {{4, 9}, {0, 29}});
    Scores.TopK top = (Scores.TopK) fake.score(ids, new ScoreRequest.TopK(3, 0.5f));
    float[] full = ((Scores.Full) fake.score(ids, new ScoreRequest.Full(0.5f))).logProbs();
    for (int p = 0; p < 4; p++) {
      double mass = Math.exp(top.logTail()[p]);
      for (int j = 0; j < 3; j++) {
        assertEquals(full[p * 30 + top.ids()[p * 3 + j]], top.logProbs()[p * 3 + j]);
        mass += Math.exp(top.logProbs()[p * 3 + j]);
      }
      assertEquals(1.0, mass, 1e-5);
    }
    assertEquals(2, fake.calls());
    assertEquals(8, fake.tokensScored());
  }

  @Test
  void score_validatesLikeARealTeacher_andRefusesAfterClose() {
    FakeTeacher fake = new FakeTeacher(30, 1, new TeacherLimits(4, 8));
    assertThrows(IllegalArgumentException.class, () -> fake.score(TokenBatch.of(new int[][] {{30}}), new ScoreRequest.Full(1f)));
    assertThrows(IllegalArgumentException.class, () -> fake.score(TokenBatch.of(new int[][] {{1, 2, 3, 4, 5}}), new ScoreRequest.Full(1f)));
    fake.close();
    assertThrows(TeacherUnavailableException.class, () -> fake.score(TokenBatch.of(new int[][] {{1}}), new ScoreRequest.Full(1f)));
  }
}
