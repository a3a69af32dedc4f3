package dev.graft.trainer.distill;

import java.nio.file.Path;

/**
 * The training loop stopped early because a {@link StopRequest} asked it to.
 *
 * @see StopRequest
 */
public final class TrainingStopped extends RuntimeException {

  private final long step;
  private final transient Path checkpoint;

  /**
   * @param step the last step trained
   * @param checkpoint the checkpoint written at that step, or null when the stop came before the
   *     first step of this process (the newest earlier checkpoint, if any, still stands)
   */
  public TrainingStopped(long step, Path checkpoint) {
    super(checkpoint == null ? "stopped before step " + (step + 1) + " as asked; nothing new to checkpoint"
        : "stopped after step " + step + " as asked, with a checkpoint in " + checkpoint);
    this.step = step;
    this.checkpoint = checkpoint;
  }

  public long step() {
    return step;
  }

  /** The checkpoint written at {@link #step()}, or null. */
  public Path checkpoint() {
    return checkpoint;
  }
}
