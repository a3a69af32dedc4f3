package dev.graft.model;

import ai.djl.ndarray.NDArray;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * A digest that identifies a model's weights: lower-case hex SHA-256 over the {@code config.json}
 * text, then every tensor in name order (name, shape, fp32 bytes). The same weights give the same
 * fingerprint whatever the storage dtype or shard layout they were loaded from. A teacher-service
 * reports it, and so does a sampler-service that serves a fixed checkpoint (the teacher), so a
 * trainer can tell both serve the same model.
 */
public final class ModelFingerprint {

  private ModelFingerprint() {}

  /** The fingerprint of {@code config} with fp32 {@code tensors} keyed by Hugging Face name. */
  public static String of(LlamaConfig config, Map<String, NDArray> tensors) {
    MessageDigest sha = sha256();
    sha.update(config.toJson().getBytes(StandardCharsets.UTF_8));
    for (var e : new TreeMap<>(tensors).entrySet()) {
      sha.update(e.getKey().getBytes(StandardCharsets.UTF_8));
      ByteBuffer header = ByteBuffer.allocate(4 + 8 * e.getValue().getShape().dimension());
      header.putInt(e.getValue().getShape().dimension());
      for (long d : e.getValue().getShape().getShape()) {
        header.putLong(d);
      }
      sha.update(header.flip());
      sha.update(e.getValue().toByteBuffer());
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime provides SHA-256", e);
    }
  }
}
