package dev.graft.sync.subscribe;

import dev.graft.proto.v1.PolicyManifest;
import dev.graft.sync.PolicyProtos;
import dev.graft.sync.VersionManifest;

/** Reads a manifest a trainer sent; anything malformed rejects the version. */
final class ManifestReader {

  private ManifestReader() {}

  /**
   * @throws SyncRejectedException (MALFORMED_MANIFEST) for another version, a bad config or
   *     retrofit, an unknown dtype, a repeated name, a byte length that does not fit the shape or
   *     a bad digest
   */
  static VersionManifest read(PolicyManifest manifest, long expectedVersion) {
    try {
      return PolicyProtos.fromProto(manifest, expectedVersion);
    } catch (IllegalArgumentException e) {
      throw new SyncRejectedException(RejectReason.MALFORMED_MANIFEST, e.getMessage());
    }
  }
}
