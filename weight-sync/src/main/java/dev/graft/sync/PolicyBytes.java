package dev.graft.sync;

import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.TensorCodec;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * How policy tensors travel, for both sides of weight sync: fp32 packed little-endian by the
 * checkpoint code's {@link TensorCodec}, a SHA-256 per tensor, in chunks of at most
 * {@link #MAX_CHUNK_BYTES}.
 */
public final class PolicyBytes {

  /** Bytes per element on the wire (fp32). */
  public static final int ELEMENT_BYTES = Float.BYTES;
  /** Smallest byte budget of one serialized chunk. */
  public static final int MIN_CHUNK_BYTES = 1024;
  /** Largest byte budget of one serialized chunk; subscribers accept messages this large. */
  public static final int MAX_CHUNK_BYTES = 4 * 1024 * 1024;

  private PolicyBytes() {}

  /** The values packed little-endian. */
  public static byte[] pack(float[] values) {
    byte[] out = new byte[values.length * ELEMENT_BYTES];
    TensorCodec.encode(FloatBuffer.wrap(values), Dtype.F32, ByteBuffer.wrap(out));
    return out;
  }

  /** Unpacks whole little-endian elements of {@code data} into {@code dst} from {@code offset}. */
  public static void unpack(ByteBuffer data, float[] dst, int offset) {
    TensorCodec.decode(data.duplicate(), Dtype.F32, dst, offset);
  }

  /** A fresh SHA-256 digest. */
  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  }
}
