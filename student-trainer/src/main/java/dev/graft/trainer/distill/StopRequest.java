package dev.graft.trainer.distill;

/**
 * A request from outside the training loop (SIGTERM: a pod evicted or deleted) to stop at the end
 * of the current step: the loop writes a checkpoint there and ends with {@link TrainingStopped},
 * and a restarted trainer resumes from that checkpoint. Thread-safe.
 */
public final class StopRequest {

  private volatile boolean requested;

  /** Asks the loop to stop after the step in progress. Idempotent. */
  public void request() {
    requested = true;
  }

  public boolean requested() {
    return requested;
  }
}
