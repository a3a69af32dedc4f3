package dev.graft.trainer.distill;

import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherScorer;
import dev.graft.trainer.data.Batch;

/**
 * Where a batch's training targets come from: the teacher ({@link #live}), or a target store for
 * the corpus rows and the teacher for the rollouts ({@link StoredTargets}). Either way the answer
 * is the teacher's top-k (or full) request for the batch's rows, so the loss does not depend on
 * the source. Called from the prefetch thread.
 */
interface TrainingTargets {

  /**
   * The targets of every row of {@code batch}.
   *
   * @param sequences the training-sequence index of each row, or -1 for a row that is not corpus
   *     text (an on-policy rollout)
   */
  Scores targets(Batch batch, int[] sequences);

  /** Asks the teacher for every row, waiting with {@code patience} while no teacher answers. */
  static TrainingTargets live(TeacherScorer teacher, Patience patience, ScoreRequest request) {
    return (batch, sequences) -> patience.call(() -> teacher.score(batch.inputs(), request));
  }
}
