package dev.graft.sync.subscribe;

/** A policy version failed verification or transfer; carries why, for counters and logs. */
final class SyncRejectedException extends RuntimeException {

  private final RejectReason reason;

  SyncRejectedException(RejectReason reason, String message) {
    this(reason, message, null);
  }

  SyncRejectedException(RejectReason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  RejectReason reason() {
    return reason;
  }
}
