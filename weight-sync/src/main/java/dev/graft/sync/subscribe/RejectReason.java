package dev.graft.sync.subscribe;

/**
 * Why a sampler refused a policy version and kept the one it had. A {@link #retryable()} reason
 * may be transient, so the same version is tried again after a backoff; the others are not, and
 * the sampler waits for a newer version.
 */
public enum RejectReason {
  /** The manifest is unusable: bad config JSON, unknown dtype, a length that fits no shape. */
  MALFORMED_MANIFEST(false),
  /** The manifest lacks a tensor that the model spec needs. */
  MISSING_TENSOR(false),
  /** The manifest holds a tensor that the model spec does not have. */
  UNEXPECTED_TENSOR(false),
  /** A tensor's shape differs from the one the config implies. */
  SHAPE_MISMATCH(false),
  /** A chunk does not fit: wrong version, unknown tensor, a gap or overlap, a partial element. */
  MALFORMED_CHUNK(true),
  /** The weight stream ended before every tensor was complete. */
  INCOMPLETE(true),
  /** A tensor's bytes do not hash to the manifest's SHA-256. */
  CHECKSUM_MISMATCH(true),
  /** A call failed: dropped connection, deadline, trainer unavailable. */
  TRANSPORT(true),
  /** The trainer no longer keeps the version (or never published it); a newer one is coming. */
  VERSION_GONE(false),
  /** The installer refused the verified weights; the sampler keeps its model. */
  INSTALLER_REJECTED(false);

  private final boolean retryable;

  RejectReason(boolean retryable) {
    this.retryable = retryable;
  }

  /** Whether trying the same version again may succeed. */
  public boolean retryable() {
    return retryable;
  }
}
