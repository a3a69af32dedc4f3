package dev.graft.trainer.distill;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.teacher.Scores;
import dev.graft.trainer.loss.TeacherTargets;
import java.util.Arrays;

/** Turns part of a teacher's {@link Scores} into {@link TeacherTargets} on a manager. */
final class TargetsView {

  private TargetsView() {}

  /**
   * The flat positions [start, end) of the (B·T) grid as (1, end − start, ...) targets: only this
   * range is copied, so full targets of a chunk take (chunk × V) floats.
   */
  static TeacherTargets positions(Scores scores, int start, int end, NDManager m) {
    int n = end - start;
    if (scores instanceof Scores.TopK s) {
      int k = s.k();
      long[] ids = new long[n * k];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = s.ids()[start * k + i];
      }
      float[] lp = Arrays.copyOfRange(s.logProbs(), start * k, end * k);
      float[] tail = Arrays.copyOfRange(s.logTail(), start, end);
      return new TeacherTargets.TopK(m.create(ids, new Shape(1, n, k)),
          m.create(lp, new Shape(1, n, k)), m.create(tail, new Shape(1, n)));
    }
    if (scores instanceof Scores.Full s) {
      int v = s.vocab();
      float[] lp = Arrays.copyOfRange(s.logProbs(), start * v, end * v);
      return new TeacherTargets.Full(m.create(lp, new Shape(1, n, v))); // (1, n, V)
    }
    throw new IllegalArgumentException("training needs top-k or full teacher targets, got "
        + scores.getClass().getSimpleName());
  }
}
