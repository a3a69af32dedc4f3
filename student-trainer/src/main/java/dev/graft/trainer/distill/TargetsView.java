package dev.graft.trainer.distill;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.teacher.Scores;
import dev.graft.trainer.loss.TeacherTargets;
import java.util.Arrays;

/** Turns the rows [from, to) of a teacher's {@link Scores} into {@link TeacherTargets} on a manager. */
final class TargetsView {

  private TargetsView() {}

  static TeacherTargets rows(Scores scores, int from, int to, NDManager m) {
    int t = scores.length();
    int b = to - from;
    if (scores instanceof Scores.TopK s) {
      int k = s.k();
      long[] ids = new long[b * t * k];
      int base = from * t * k;
      for (int i = 0; i < ids.length; i++) {
        ids[i] = s.ids()[base + i];
      }
      float[] lp = Arrays.copyOfRange(s.logProbs(), base, base + ids.length);
      float[] tail = Arrays.copyOfRange(s.logTail(), from * t, to * t);
      return new TeacherTargets.TopK(m.create(ids, new Shape(b, t, k)),
          m.create(lp, new Shape(b, t, k)), m.create(tail, new Shape(b, t)));
    }
    if (scores instanceof Scores.Full s) {
      int v = s.vocab();
      float[] lp = Arrays.copyOfRange(s.logProbs(), from * t * v, to * t * v);
      return new TeacherTargets.Full(m.create(lp, new Shape(b, t, v))); // (b, T, V)
    }
    throw new IllegalArgumentException("training needs top-k or full teacher targets, got "
        + scores.getClass().getSimpleName());
  }
}
