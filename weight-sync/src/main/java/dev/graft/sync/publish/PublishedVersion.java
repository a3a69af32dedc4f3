package dev.graft.sync.publish;

import dev.graft.sync.VersionManifest;
import java.util.Map;

/**
 * A published version as the publisher keeps it: the manifest plus each tensor's packed
 * little-endian bytes, never modified after publication (so chunks may wrap them without copying).
 *
 * @param manifest what the version holds
 * @param bytes packed bytes by tensor name, in manifest order
 */
record PublishedVersion(VersionManifest manifest, Map<String, byte[]> bytes) {

  long version() {
    return manifest.version();
  }
}
