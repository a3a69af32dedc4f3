package dev.graft.sync.subscribe;

import dev.graft.sync.PolicyBytes;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.TensorEntry;
import dev.graft.sync.VersionManifest;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Rebuilds one policy version from its manifest and a stream of chunks, verifying as it goes:
 * the manifest against the shapes its config implies, each chunk's place in its tensor, and
 * each finished tensor's SHA-256. Yields a {@link PolicyUpdate} only when every tensor is
 * complete and verified. Not thread-safe: one download, one thread.
 */
public final class WeightAssembler {

  private final VersionManifest manifest;
  private final Map<String, Part> parts = new LinkedHashMap<>();
  private long bytesReceived;

  /** One tensor being received. */
  private static final class Part {
    final TensorEntry entry;
    final float[] values;
    final MessageDigest digest = PolicyBytes.sha256();
    long received;

    Part(TensorEntry entry) {
      this.entry = entry;
      this.values = new float[(int) (entry.byteLength() / PolicyBytes.ELEMENT_BYTES)];
    }

    boolean complete() {
      return received == entry.byteLength();
    }
  }

  /**
   * @throws SyncRejectedException (MISSING_TENSOR, UNEXPECTED_TENSOR, SHAPE_MISMATCH) when the
   *     manifest's tensors are not exactly those its config implies
   */
  public WeightAssembler(VersionManifest manifest) {
    this.manifest = manifest;
    checkAgainstConfig(manifest);
    for (TensorEntry t : manifest.tensors()) {
      parts.put(t.name(), new Part(t));
    }
  }

  private static void checkAgainstConfig(VersionManifest m) {
    Map<String, List<Long>> expected = m.spec().tensorShapes();
    Map<String, TensorEntry> listed = new LinkedHashMap<>();
    m.tensors().forEach(t -> listed.put(t.name(), t));
    List<String> missing = expected.keySet().stream().filter(n -> !listed.containsKey(n)).toList();
    if (!missing.isEmpty()) {
      throw new SyncRejectedException(RejectReason.MISSING_TENSOR, "the manifest lacks tensors "
          + missing + " that its model spec needs");
    }
    List<String> extra = listed.keySet().stream().filter(n -> !expected.containsKey(n)).toList();
    if (!extra.isEmpty()) {
      throw new SyncRejectedException(RejectReason.UNEXPECTED_TENSOR, "the manifest holds tensors "
          + extra + " that its model spec does not have");
    }
    for (TensorEntry t : m.tensors()) {
      if (!t.shape().equals(expected.get(t.name()))) {
        throw new SyncRejectedException(RejectReason.SHAPE_MISMATCH, "tensor " + t.name()
            + " has shape " + t.shape() + " but the model spec implies " + expected.get(t.name()));
      }
    }
  }

  /**
   * Takes the next chunk of one tensor; verifies the tensor's checksum when it completes.
   *
   * @throws SyncRejectedException (MALFORMED_CHUNK, CHECKSUM_MISMATCH)
   */
  public void accept(long version, String name, long offset, ByteBuffer data, boolean last) {
    if (version != manifest.version()) {
      throw malformed("a chunk of version " + version + " arrived in the stream of version "
          + manifest.version());
    }
    Part part = parts.get(name);
    if (part == null) {
      throw malformed("a chunk names tensor '" + name + "', which the manifest does not list");
    }
    int length = data.remaining();
    if (part.complete() || offset != part.received) {
      throw malformed("tensor " + name + " got bytes at offset " + offset + " but "
          + (part.complete() ? "was already complete" : "expected offset " + part.received));
    }
    if (length % PolicyBytes.ELEMENT_BYTES != 0 || (length == 0 && !last)
        || offset + length > part.entry.byteLength()) {
      throw malformed("tensor " + name + " got a chunk of " + length + " bytes at offset " + offset
          + ", which does not fit whole elements within its " + part.entry.byteLength() + " bytes");
    }
    part.digest.update(data.duplicate());
    int element = (int) (offset / PolicyBytes.ELEMENT_BYTES);
    PolicyBytes.unpack(data, part.values, element);
    part.received += length;
    bytesReceived += length;
    if (last != part.complete()) {
      throw malformed("tensor " + name + " has " + part.received + " of " + part.entry.byteLength()
          + " bytes but the chunk's last flag is " + last);
    }
    if (last) {
      verifyDigest(part);
    }
  }

  private static void verifyDigest(Part part) {
    String got = HexFormat.of().formatHex(part.digest.digest());
    if (!got.equals(part.entry.sha256())) {
      throw new SyncRejectedException(RejectReason.CHECKSUM_MISMATCH, "tensor " + part.entry.name()
          + " hashes to sha256 " + got + " but the manifest says " + part.entry.sha256());
    }
  }

  /** Bytes of tensor data taken so far. */
  public long bytesReceived() {
    return bytesReceived;
  }

  /**
   * The verified version.
   *
   * @throws SyncRejectedException (INCOMPLETE) when a tensor has not been fully received
   */
  public PolicyUpdate finish() {
    List<String> incomplete = new ArrayList<>();
    Map<String, float[]> tensors = new LinkedHashMap<>();
    for (Part p : parts.values()) {
      if (!p.complete()) {
        incomplete.add(p.entry.name() + " (" + p.received + "/" + p.entry.byteLength() + " bytes)");
      }
      tensors.put(p.entry.name(), p.values);
    }
    if (!incomplete.isEmpty()) {
      throw new SyncRejectedException(RejectReason.INCOMPLETE, "the weight stream ended with "
          + incomplete.size() + " of " + parts.size() + " tensors incomplete: "
          + (incomplete.size() > 5 ? incomplete.subList(0, 5) + "..." : incomplete));
    }
    return new PolicyUpdate(manifest.epoch(), manifest.version(), manifest.spec(),
        Collections.unmodifiableMap(tensors));
  }

  private static SyncRejectedException malformed(String message) {
    return new SyncRejectedException(RejectReason.MALFORMED_CHUNK, message);
  }
}
