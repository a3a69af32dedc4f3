package dev.graft.cli;

import dev.graft.trainer.distill.StopRequest;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * What SIGTERM (a pod evicted, deleted or rolled) does to {@code graft trainer}: a JVM shutdown
 * hook asks the training loop to stop after its current step ({@link StopRequest}), waits up to a
 * grace period for the command to finish — checkpoint written, server closed — and then ends the
 * JVM with the command's exit status: 0 once stopped with a checkpoint. (A JVM that ends because
 * of SIGTERM otherwise exits 143 whatever its hooks did, so the hook halts with the status itself;
 * every other hook has run or is running by then.) Past the grace period the hook gives up and
 * the JVM exits 143, the newest periodic checkpoint standing. An exit that is not a signal — the
 * command finished first — passes through untouched.
 */
final class EvictionHook {

  private final StopRequest stop = new StopRequest();
  private final CountDownLatch finished = new CountDownLatch(1);
  private final Duration grace;
  private volatile int status = 1;

  private EvictionHook(Duration grace) {
    this.grace = grace;
  }

  /**
   * Installs the hook.
   *
   * @throws IllegalArgumentException when {@code grace} is negative
   */
  static EvictionHook install(Duration grace) {
    if (grace == null || grace.isNegative()) {
      throw new IllegalArgumentException("--stop-grace-s (" + (grace == null ? null : grace.toSeconds())
          + ") must be >= 0");
    }
    EvictionHook hook = new EvictionHook(grace);
    Runtime.getRuntime().addShutdownHook(new Thread(hook::onShutdown, "trainer-eviction"));
    return hook;
  }

  /** What the training loop watches. */
  StopRequest stop() {
    return stop;
  }

  /** The command is done, with this exit status; a waiting hook ends the JVM with it. */
  void finished(int exitStatus) {
    this.status = exitStatus;
    finished.countDown();
  }

  private void onShutdown() {
    if (finished.getCount() == 0) {
      return; // the command finished: an ordinary exit
    }
    System.out.println("student-trainer: stop requested (SIGTERM): finishing the current step and writing a"
        + " checkpoint, for at most " + grace.toSeconds() + " s");
    stop.request();
    try {
      if (finished.await(grace.toNanos(), TimeUnit.NANOSECONDS)) {
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(status);
      }
      System.err.println("student-trainer: not stopped within " + grace.toSeconds()
          + " s; exiting without a new checkpoint");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
