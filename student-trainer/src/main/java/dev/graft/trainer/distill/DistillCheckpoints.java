package dev.graft.trainer.distill;

import dev.graft.data.SequenceCursor;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.trainer.checkpoint.RunCheckpoints;
import dev.graft.trainer.optim.AdamW;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A distillation run's checkpoints: the student's parameters in the target layout, the optimizer
 * and a {@link DistillState}; restoring refuses a checkpoint of another config or teacher.
 */
final class DistillCheckpoints {

  private final RunCheckpoints store;
  private final RetrofitStudent student;
  private final long every;
  private final long seed;
  private final String configFingerprint;
  private final String teacherFingerprint;

  DistillCheckpoints(RunCheckpoints store, RetrofitStudent student, long every, long seed,
      String configFingerprint, String teacherFingerprint) {
    this.store = store;
    this.student = student;
    this.every = every;
    this.seed = seed;
    this.configFingerprint = configFingerprint;
    this.teacherFingerprint = teacherFingerprint;
  }

  /** Loads the newest checkpoint into the student and {@code opt}; empty when there is none. */
  Optional<DistillState> restore(AdamW opt) {
    try {
      Optional<DistillState> restored = store.restoreLatest(student.targetConfig(), student.parameters(),
          student.model().manager(), opt, DistillState.class, DistillState::step);
      restored.ifPresent(st -> st.requireCompatible(configFingerprint, teacherFingerprint));
      return restored;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot restore from " + store.root(), e);
    }
  }

  /**
   * Writes a checkpoint after {@code step} when it is on the cadence or the last step.
   *
   * @return the checkpoint's directory, or empty when none was due
   */
  Optional<Path> maybeSave(long step, long totalSteps, AdamW opt, SequenceCursor.Position after,
      long tokensSeen, double lastLoss) {
    if (!(every > 0 && step % every == 0) && step != totalSteps) {
      return Optional.empty();
    }
    return Optional.of(save(step, opt, after, tokensSeen, lastLoss));
  }

  /** Writes a checkpoint after {@code step} whatever the cadence (a stop was asked for); returns its directory. */
  Path save(long step, AdamW opt, SequenceCursor.Position after, long tokensSeen, double lastLoss) {
    DistillState state = new DistillState(step, after.epoch(), after.index(), tokensSeen, seed,
        configFingerprint, teacherFingerprint, lastLoss);
    try {
      return store.save(step, student.targetConfig(), student.parameters(), opt, state);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint at step " + step, e);
    }
  }
}
