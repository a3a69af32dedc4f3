package dev.graft.trainer.distill;

import dev.graft.teacher.Scores;
import dev.graft.teacher.store.TargetStore;
import dev.graft.trainer.data.Batch;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Training targets from a target store: corpus rows read their stored top-k + tail targets, rows
 * that are not corpus text (on-policy rollouts) go to the teacher. The stored values are the
 * teacher's answer at the run's k, temperature and wire dtype (the store's key is checked against
 * the run before training), so a step computes the same loss as with the teacher.
 */
final class StoredTargets implements TrainingTargets {

  private final TargetStore store;
  private final TrainingTargets teacher; // null: a row without a stored answer is an error

  /** @param teacher scores the rollout rows; null for an off-policy run */
  StoredTargets(TargetStore store, TrainingTargets teacher) {
    this.store = store;
    this.teacher = teacher;
  }

  @Override
  public Scores targets(Batch batch, int[] sequences) {
    int b = batch.batchSize();
    int[] corpusRows = IntStream.range(0, b).filter(i -> sequences[i] >= 0).toArray();
    if (corpusRows.length == b) {
      return store.rows(sequences);
    }
    if (teacher == null) {
      throw new IllegalStateException("a target store answers corpus rows only; rollout rows need a teacher");
    }
    Scores.TopK stored = store.rows(Arrays.stream(corpusRows).map(i -> sequences[i]).toArray());
    int[] otherRows = IntStream.range(0, b).filter(i -> sequences[i] < 0).toArray();
    Scores.TopK live = topK(teacher.targets(rows(batch, otherRows), new int[otherRows.length]));
    int t = batch.seqLen();
    int k = stored.k();
    if (live.k() != k || live.length() != t) {
      throw new IllegalStateException("the teacher answered top-" + live.k() + " over " + live.length()
          + " positions where the store holds top-" + k + " over " + t);
    }
    int[] ids = new int[b * t * k];
    float[] logProbs = new float[b * t * k];
    float[] logTail = new float[b * t];
    place(stored, corpusRows, ids, logProbs, logTail);
    place(live, otherRows, ids, logProbs, logTail);
    return new Scores.TopK(b, t, k, ids, logProbs, logTail);
  }

  /** Copies row j of {@code from} to row {@code to[j]} of the arrays. */
  private static void place(Scores.TopK from, int[] to, int[] ids, float[] logProbs, float[] logTail) {
    int t = from.length();
    int tk = t * from.k();
    for (int j = 0; j < to.length; j++) {
      System.arraycopy(from.ids(), j * tk, ids, to[j] * tk, tk);
      System.arraycopy(from.logProbs(), j * tk, logProbs, to[j] * tk, tk);
      System.arraycopy(from.logTail(), j * t, logTail, to[j] * t, t);
    }
  }

  private static Batch rows(Batch batch, int[] rows) {
    if (rows[rows.length - 1] - rows[0] == rows.length - 1) {
      return batch.slice(rows[0], rows[rows.length - 1] + 1); // rollouts are the batch's last rows
    }
    throw new IllegalStateException("rollout rows " + Arrays.toString(rows) + " are not contiguous");
  }

  private static Scores.TopK topK(Scores s) {
    if (s instanceof Scores.TopK topK) {
      return topK;
    }
    throw new IllegalStateException("a target store holds top-k targets; the teacher answered "
        + s.getClass().getSimpleName());
  }
}
