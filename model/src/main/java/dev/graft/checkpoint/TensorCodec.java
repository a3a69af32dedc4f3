package dev.graft.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;

/**
 * Bulk conversion between stored tensor bytes (little-endian, in a safetensors {@link Dtype}) and
 * fp32 values. Works in fixed-size chunks through primitive arrays, which the JIT turns into tight
 * loops, so the cost stays close to a memory copy.
 *
 * <p>Every method consumes its source from the source's position to its limit and advances the
 * destination's position by what it wrote; the caller sizes the destination.
 */
public final class TensorCodec {

  private static final int CHUNK = 16 * 1024;

  private TensorCodec() {}

  /**
   * Widens {@code src} (little-endian {@code dtype} elements) into fp32 values in {@code dst},
   * written in {@code dst}'s byte order.
   *
   * @throws IllegalArgumentException if {@code dtype} is not F32, F16 or BF16
   */
  public static void decode(ByteBuffer src, Dtype dtype, ByteBuffer dst) {
    ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    src.position(src.limit());
    int n = in.remaining() / dtype.requireFloat32Convertible().byteSize();
    if (dtype == Dtype.F32) {
      if (dst.order() == ByteOrder.LITTLE_ENDIAN) {
        dst.put(in);
      } else {
        dst.asFloatBuffer().put(in.asFloatBuffer());
        dst.position(dst.position() + 4 * n);
      }
      return;
    }
    ShortBuffer halves = in.asShortBuffer();
    IntBuffer out = dst.asIntBuffer();
    short[] s = new short[Math.min(CHUNK, n)];
    int[] bits = new int[s.length];
    while (halves.hasRemaining()) {
      int k = Math.min(s.length, halves.remaining());
      halves.get(s, 0, k);
      widen(dtype, s, bits, k);
      out.put(bits, 0, k);
    }
    dst.position(dst.position() + 4 * n);
  }

  /**
   * Widens {@code src} (little-endian {@code dtype} elements) into a new fp32 array.
   *
   * @throws IllegalArgumentException if {@code dtype} is not F32, F16 or BF16, or the result would
   *     not fit in one Java array
   */
  public static float[] decodeToArray(ByteBuffer src, Dtype dtype) {
    float[] out = new float[src.remaining() / dtype.requireFloat32Convertible().byteSize()];
    decode(src, dtype, out, 0);
    return out;
  }

  /**
   * Widens {@code src} (little-endian {@code dtype} elements) into {@code dst} from index
   * {@code offset}; {@code dst} must have room for every element.
   *
   * @throws IllegalArgumentException if {@code dtype} is not F32, F16 or BF16
   */
  public static void decode(ByteBuffer src, Dtype dtype, float[] dst, int offset) {
    ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    src.position(src.limit());
    int n = in.remaining() / dtype.requireFloat32Convertible().byteSize();
    if (dtype == Dtype.F32) {
      in.asFloatBuffer().get(dst, offset, n);
      return;
    }
    ShortBuffer halves = in.asShortBuffer();
    short[] s = new short[Math.min(CHUNK, n)];
    int[] bits = new int[s.length];
    for (int at = 0; at < n; at += s.length) {
      int k = Math.min(s.length, n - at);
      halves.get(s, 0, k);
      widen(dtype, s, bits, k);
      for (int i = 0; i < k; i++) {
        dst[offset + at + i] = Float.intBitsToFloat(bits[i]);
      }
    }
  }

  /**
   * Narrows the fp32 values of {@code src} into little-endian {@code dtype} elements in {@code
   * dst}, rounding to nearest even.
   *
   * @throws IllegalArgumentException if {@code dtype} is not F32, F16 or BF16
   */
  public static void encode(FloatBuffer src, Dtype dtype, ByteBuffer dst) {
    int n = src.remaining();
    int bytes = n * dtype.requireFloat32Convertible().byteSize();
    ByteBuffer out = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (dtype == Dtype.F32) {
      out.asFloatBuffer().put(src);
    } else {
      ShortBuffer halves = out.asShortBuffer();
      float[] f = new float[Math.min(CHUNK, n)];
      short[] s = new short[f.length];
      while (src.hasRemaining()) {
        int k = Math.min(f.length, src.remaining());
        src.get(f, 0, k);
        if (dtype == Dtype.BF16) {
          HalfFloats.floatToBf16(f, s, k);
        } else {
          HalfFloats.floatToHalf(f, s, k);
        }
        halves.put(s, 0, k);
      }
    }
    dst.position(dst.position() + bytes);
  }

  private static void widen(Dtype dtype, short[] s, int[] bits, int k) {
    if (dtype == Dtype.BF16) {
      HalfFloats.bf16ToFloatBits(s, bits, k);
    } else {
      HalfFloats.halfToFloatBits(s, bits, k);
    }
  }
}
