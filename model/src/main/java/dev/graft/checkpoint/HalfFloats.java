package dev.graft.checkpoint;

/**
 * Conversions between fp32 and the two 16-bit float formats, done on bit patterns so that no
 * bf16 value ever reaches the tensor engine.
 *
 * <ul>
 *   <li>fp16 is IEEE 754 binary16: 1 sign, 5 exponent, 10 mantissa bits, with subnormals.
 *   <li>bf16 is the top half of an fp32: 1 sign, 8 exponent, 7 mantissa bits.
 * </ul>
 *
 * <p>Narrowing rounds to nearest, ties to even; values beyond the fp16 range become infinity. A NaN
 * stays a NaN with its sign and the top bits of its payload; when those bits are all zero the quiet
 * bit is set, so the result is never mistaken for infinity. Widening is exact, so every 16-bit
 * pattern survives a widen-then-narrow round trip unchanged.
 */
public final class HalfFloats {

  private HalfFloats() {}

  /** fp32 bits of each fp16 pattern; widening is a table look-up. */
  private static final class HalfTable {
    static final int[] FP32_BITS = new int[1 << 16];

    static {
      for (int h = 0; h < FP32_BITS.length; h++) {
        FP32_BITS[h] = halfBitsToFloatBits(h);
      }
    }
  }

  /** Widens fp16 bits to the exactly equal fp32 value. */
  public static float halfToFloat(short half) {
    return Float.intBitsToFloat(HalfTable.FP32_BITS[half & 0xffff]);
  }

  /** Narrows an fp32 value to fp16 bits, rounding to nearest even. */
  public static short floatToHalf(float value) {
    return floatBitsToHalf(Float.floatToRawIntBits(value));
  }

  /** Widens bf16 bits to the exactly equal fp32 value. */
  public static float bf16ToFloat(short bf16) {
    return Float.intBitsToFloat(bf16 << 16);
  }

  /** Narrows an fp32 value to bf16 bits, rounding to nearest even. */
  public static short floatToBf16(float value) {
    return floatBitsToBf16(Float.floatToRawIntBits(value));
  }

  /** fp32 bits of the fp16 pattern {@code half} (low 16 bits used). */
  public static int halfBitsToFloatBits(int half) {
    int sign = (half & 0x8000) << 16;
    int exp = (half >>> 10) & 0x1f;
    int mant = half & 0x3ff;
    if (exp == 0x1f) {
      return sign | 0x7f800000 | (mant << 13);
    }
    if (exp != 0) {
      return sign | ((exp + (127 - 15)) << 23) | (mant << 13);
    }
    // Zero or subnormal: mant * 2^-24 is exact in fp32.
    return sign | Float.floatToRawIntBits(mant * 0x1p-24f);
  }

  /** fp16 pattern nearest to the fp32 bit pattern {@code bits}. */
  public static short floatBitsToHalf(int bits) {
    int sign = (bits >>> 16) & 0x8000;
    int abs = bits & 0x7fffffff;
    if (abs > 0x7f800000) {
      int payload = (abs >>> 13) & 0x3ff;
      return (short) (sign | 0x7c00 | (payload == 0 ? 0x200 : payload));
    }
    if (abs >= 0x477ff000) {
      // 65520 and above (and infinity): halfway past 65504 ties to the even infinity.
      return (short) (sign | 0x7c00);
    }
    if (abs >= 0x38800000) {
      // Normal: re-bias the exponent; a carry out of the mantissa correctly bumps it.
      int rounded = abs + 0xfff + ((abs >>> 13) & 1);
      return (short) (sign | ((rounded - ((127 - 15) << 23)) >>> 13));
    }
    if (abs < 0x33000000) {
      // Below 2^-25 (half the smallest subnormal): rounds to zero.
      return (short) sign;
    }
    return (short) (sign | subnormalHalf(abs));
  }

  /** Mantissa of the fp16 subnormal nearest to {@code abs}, which lies in [2^-25, 2^-14). */
  private static int subnormalHalf(int abs) {
    int shift = 126 - (abs >>> 23); // value = m * 2^(e-150); in units of 2^-24 that is m >> (126-e)
    int m = (abs & 0x7fffff) | 0x800000;
    int q = m >>> shift;
    int rem = m & ((1 << shift) - 1);
    int half = 1 << (shift - 1);
    if (rem > half || (rem == half && (q & 1) != 0)) {
      q++; // may reach 0x400, which is exactly the smallest normal
    }
    return q;
  }

  /** bf16 pattern nearest to the fp32 bit pattern {@code bits}. */
  public static short floatBitsToBf16(int bits) {
    if ((bits & 0x7fffffff) > 0x7f800000) {
      int top = bits >>> 16;
      return (short) ((top & 0x7f) == 0 ? top | 0x40 : top);
    }
    return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
  }

  /** Widens {@code n} fp16 patterns from {@code src} to fp32 bits in {@code dst}. */
  public static void halfToFloatBits(short[] src, int[] dst, int n) {
    int[] table = HalfTable.FP32_BITS;
    for (int i = 0; i < n; i++) {
      dst[i] = table[src[i] & 0xffff];
    }
  }

  /** Widens {@code n} bf16 patterns from {@code src} to fp32 bits in {@code dst}. */
  public static void bf16ToFloatBits(short[] src, int[] dst, int n) {
    for (int i = 0; i < n; i++) {
      dst[i] = src[i] << 16;
    }
  }

  /** Narrows {@code n} fp32 values from {@code src} to fp16 patterns in {@code dst}. */
  public static void floatToHalf(float[] src, short[] dst, int n) {
    for (int i = 0; i < n; i++) {
      dst[i] = floatBitsToHalf(Float.floatToRawIntBits(src[i]));
    }
  }

  /** Narrows {@code n} fp32 values from {@code src} to bf16 patterns in {@code dst}. */
  public static void floatToBf16(float[] src, short[] dst, int n) {
    for (int i = 0; i < n; i++) {
      dst[i] = floatBitsToBf16(Float.floatToRawIntBits(src[i]));
    }
  }
}
