package dev.graft.sync.publish;

import java.util.List;

/**
 * A policy version that the publisher does not serve: never published (greater than the newest,
 * or of another run's epoch) or evicted because newer versions replaced it.
 */
public final class UnknownVersionException extends RuntimeException {

  private final long version;
  private final boolean evicted;

  /** A version asked for under another run's epoch: not found, and never will be. */
  UnknownVersionException(String message) {
    super(message);
    this.version = -1;
    this.evicted = false;
  }

  UnknownVersionException(long version, List<Long> kept, boolean evicted) {
    super(evicted
        ? "policy version " + version + " is no longer kept (kept: " + kept + "); fetch the newest"
        : "policy version " + version + " has not been published"
            + (kept.isEmpty() ? " (none yet)" : " (kept: " + kept + ")"));
    this.version = version;
    this.evicted = evicted;
  }

  public long version() {
    return version;
  }

  /** True when the version was published but a newer one replaced it. */
  public boolean evicted() {
    return evicted;
  }
}
