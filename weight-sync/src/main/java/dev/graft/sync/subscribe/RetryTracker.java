package dev.graft.sync.subscribe;

/**
 * Which version last failed, how often, and whether the subscriber gave up on it. Not
 * thread-safe: the subscriber guards it with its own lock.
 */
final class RetryTracker {

  private final int maxAttempts;
  private long version = -1;
  private int attempts;
  private RejectReason reason;
  private boolean gaveUp;

  /** @param maxAttempts tries of one version for a retryable failure, &gt;= 1 */
  RetryTracker(int maxAttempts) {
    this.maxAttempts = maxAttempts;
  }

  /**
   * Records that {@code failed} was rejected for {@code why}.
   *
   * @return the attempt number of this failure for that version, from 1
   */
  int failed(long failed, RejectReason why) {
    attempts = failed == version ? attempts + 1 : 1;
    version = failed;
    reason = why;
    gaveUp = !why.retryable() || attempts >= maxAttempts;
    return attempts;
  }

  /** Whether the last failure is to be retried. */
  boolean retrying() {
    return version >= 0 && !gaveUp;
  }

  /** Whether {@code candidate} is a version the subscriber gave up on. */
  boolean blocks(long candidate) {
    return gaveUp && candidate == version;
  }

  /** A fresh watch stream announced versions again: try a transiently failed one anew. */
  void freshAnnouncement() {
    if (gaveUp && reason.retryable()) {
      gaveUp = false;
      attempts = 0;
    }
  }

  /** A version was installed. */
  void succeeded() {
    version = -1;
    attempts = 0;
    reason = null;
    gaveUp = false;
  }
}
