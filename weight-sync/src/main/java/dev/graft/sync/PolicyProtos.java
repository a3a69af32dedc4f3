package dev.graft.sync;

import dev.graft.model.LlamaConfig;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.PolicyManifest;
import dev.graft.proto.v1.PolicyVersionAnnouncement;
import dev.graft.proto.v1.TensorDigest;
import dev.graft.retrofit.ModelSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Conversions between the policy protos and the domain manifest, both directions, for both
 * sides. Reading checks the manifest's form and throws {@link IllegalArgumentException} naming
 * what is wrong; the subscriber turns that into a rejected version.
 */
public final class PolicyProtos {

  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

  private PolicyProtos() {}

  public static PolicyManifest toProto(VersionManifest m) {
    PolicyManifest.Builder b = PolicyManifest.newBuilder()
        .setVersion(m.version())
        .setEpoch(m.epoch())
        .setConfigJson(m.config().toJson())
        .setRetrofitJson(m.spec().retrofitJson())
        .setTotalBytes(m.totalBytes())
        .setPublishedUnixMillis(m.publishedAt().toEpochMilli());
    for (double a : m.spec().alphas()) {
      b.addAlphas(a);
    }
    for (TensorEntry t : m.tensors()) {
      b.addTensors(TensorDigest.newBuilder().setName(t.name()).addAllShape(t.shape())
          .setDtype(DType.DTYPE_FLOAT32).setByteLength(t.byteLength()).setSha256(t.sha256()));
    }
    return b.build();
  }

  public static PolicyVersionAnnouncement announcement(VersionManifest m, long oldestKept) {
    return PolicyVersionAnnouncement.newBuilder()
        .setVersion(m.version())
        .setTensorCount(m.tensors().size())
        .setTotalBytes(m.totalBytes())
        .setPublishedUnixMillis(m.publishedAt().toEpochMilli())
        .setOldestKeptVersion(oldestKept)
        .setEpoch(m.epoch())
        .build();
  }

  /**
   * Reads a manifest received for {@code expectedVersion}.
   *
   * @throws IllegalArgumentException for another version, a bad config or retrofit, an unknown
   *     dtype, a repeated name, a byte length that does not fit the shape, a bad digest
   */
  public static VersionManifest fromProto(PolicyManifest p, long expectedVersion) {
    if (p.getVersion() != expectedVersion) {
      throw malformed("the manifest is for version " + p.getVersion() + ", not " + expectedVersion);
    }
    if (p.getEpoch() == 0) {
      throw malformed("the manifest of version " + p.getVersion() + " has no epoch");
    }
    ModelSpec spec;
    try {
      LlamaConfig config = LlamaConfig.fromJson(p.getConfigJson());
      double[] alphas = p.getAlphasList().stream().mapToDouble(Double::doubleValue).toArray();
      spec = ModelSpec.of(config, p.getRetrofitJson(), alphas);
    } catch (IllegalArgumentException e) {
      throw malformed("its model spec is unusable: " + e.getMessage());
    }
    List<TensorEntry> entries = new ArrayList<>(p.getTensorsCount());
    Set<String> seen = new HashSet<>();
    long total = 0;
    for (TensorDigest t : p.getTensorsList()) {
      entries.add(entry(t));
      if (!seen.add(t.getName())) {
        throw malformed("tensor " + t.getName() + " is listed twice");
      }
      total += t.getByteLength();
    }
    if (total != p.getTotalBytes()) {
      throw malformed("total_bytes (" + p.getTotalBytes() + ") differs from the tensors' sum ("
          + total + ")");
    }
    return new VersionManifest(p.getEpoch(), p.getVersion(), spec, entries, total,
        Instant.ofEpochMilli(p.getPublishedUnixMillis()));
  }

  private static TensorEntry entry(TensorDigest t) {
    if (t.getName().isEmpty()) {
      throw malformed("a tensor has no name");
    }
    if (t.getDtype() != DType.DTYPE_FLOAT32) {
      throw malformed("tensor " + t.getName() + " has dtype " + t.getDtype()
          + "; this sampler accepts DTYPE_FLOAT32");
    }
    long elements = TensorEntry.elementCount(t.getShapeList());
    if (elements < 0 || elements > Integer.MAX_VALUE
        || t.getByteLength() != elements * PolicyBytes.ELEMENT_BYTES) {
      throw malformed("tensor " + t.getName() + " has byte_length " + t.getByteLength()
          + ", which does not fit shape " + t.getShapeList() + " in fp32");
    }
    if (!SHA256_HEX.matcher(t.getSha256()).matches()) {
      throw malformed("tensor " + t.getName() + " has sha256 '" + t.getSha256()
          + "', not 64 lower-case hex digits");
    }
    return new TensorEntry(t.getName(), t.getShapeList(), t.getByteLength(), t.getSha256());
  }

  private static IllegalArgumentException malformed(String message) {
    return new IllegalArgumentException(message);
  }
}
