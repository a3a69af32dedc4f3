package dev.graft.trainer.distill;

import dev.graft.data.PackedSequences;
import dev.graft.data.SequenceCursor;
import dev.graft.teacher.Scores;
import dev.graft.trainer.data.Batch;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongSupplier;

/**
 * The batches to train on, one step ahead: each is drawn in data order, its teacher-continuation
 * rows filled in ({@link TeacherContinuations}), its on-policy rows are completed by samplers and its targets are fetched ({@link TrainingTargets}: the teacher, or a
 * target store for the corpus rows) on a prefetch thread while the current step trains. Times the
 * training thread's waits. One training thread calls it.
 */
final class BatchPipeline implements AutoCloseable {

  /** A drawn batch: its data position, and its (on-policy rows and) teacher targets on the way. */
  record Pending(SequenceCursor.Position after, Future<Ready> ready) {}

  /**
   * A batch ready to train on.
   *
   * @param scores the teacher's targets; null for a cross-entropy run
   * @param lag the policy lag of its rollouts; null without on-policy rows
   */
  record Ready(Batch batch, Scores scores, RolloutLag lag) {}

  private final PackedSequences train;
  private final int batchSize;
  private final long seed;
  private final TrainingTargets targets; // null when the loss needs no teacher
  private final OnPolicyData onPolicy; // null when off-policy
  private TeacherContinuations seqkd; // null without teacher-continuation rows
  private int seqkdFrom; // their rows: [seqkdFrom, seqkdTo)
  private int seqkdTo;
  private final LongSupplier nanoClock;
  private final ExecutorService prefetch = Executors.newSingleThreadExecutor(r -> {
    Thread th = new Thread(r, "teacher-prefetch");
    th.setDaemon(true);
    return th;
  });
  private SequenceCursor cursor;
  private double waitSeconds;

  /**
   * @param targets gives every batch its teacher targets, or null when the loss needs none
   * @param onPolicy completes the on-policy rows, or null when off-policy
   */
  BatchPipeline(PackedSequences train, int batchSize, long seed, TrainingTargets targets,
      OnPolicyData onPolicy, LongSupplier nanoClock) {
    this.train = train;
    this.batchSize = batchSize;
    this.seed = seed;
    this.targets = targets;
    this.onPolicy = onPolicy;
    this.nanoClock = nanoClock;
  }

  /**
   * Rows [{@code from}, {@code to}) of every batch become the teacher's continuations
   * (sequence-level distillation); the pipeline closes {@code source}.
   */
  BatchPipeline withTeacherRows(TeacherContinuations source, int from, int to) {
    this.seqkd = source;
    this.seqkdFrom = from;
    this.seqkdTo = to;
    return this;
  }

  /** Continues the data order from {@code at}. */
  void seek(SequenceCursor.Position at) {
    cursor = new SequenceCursor(train.size(), seed, at);
  }

  /** Takes the next batch from the data order and starts completing and scoring it for {@code step}. */
  Pending draw(long step) {
    int[] sequences = cursor.next(batchSize);
    Batch b = Batch.of(train, sequences);
    SequenceCursor.Position after = cursor.position();
    if (onPolicy == null && targets == null && seqkd == null) {
      return new Pending(after, CompletableFuture.completedFuture(new Ready(b, null, null)));
    }
    return new Pending(after, prefetch.submit(() -> {
      Batch full = b;
      RolloutLag lag = null;
      int[] rows = sequences;
      if (seqkd != null) {
        full = seqkd.complete(full, seqkdFrom, step);
        rows = sequences.clone(); // these rows are no longer corpus text
        Arrays.fill(rows, seqkdFrom, seqkdTo, -1);
      }
      if (onPolicy != null) {
        OnPolicyData.Result r = onPolicy.complete(full, step);
        full = r.batch();
        lag = r.lag();
        rows = rows.clone(); // the last rolloutRows rows are no longer corpus text
        Arrays.fill(rows, batchSize - r.rolloutRows(), batchSize, -1);
      }
      Scores scores = targets == null ? null : targets.targets(full, rows);
      return new Ready(full, scores, lag);
    }));
  }

  /** Waits for a drawn batch, counting the time waited. */
  Ready await(Pending p, long step) {
    long w0 = nanoClock.getAsLong();
    try {
      return p.ready().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the teacher", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException("teacher scoring or generation failed at step " + step, e.getCause());
    } finally {
      waitSeconds += (nanoClock.getAsLong() - w0) / 1e9;
    }
  }

  /** Seconds the training thread has waited for batches. */
  double waitSeconds() {
    return waitSeconds;
  }

  /** The teacher-continuation rows' source, or null without them. */
  TeacherContinuations teacherRows() {
    return seqkd;
  }

  /** The on-policy rows' data source, or null when off-policy. */
  OnPolicyData onPolicy() {
    return onPolicy;
  }

  @Override
  public void close() {
    prefetch.shutdownNow();
    if (seqkd != null) {
      seqkd.close();
    }
  }
}
