package dev.graft.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HalfFloatsTest {

  private static short half(float f) {
    return HalfFloats.floatToHalf(f);
  }

  private static short bf16(int fp32Bits) {
    return HalfFloats.floatBitsToBf16(fp32Bits);
  }

  private static void assertBits(int expected, short actual) {
    assertEquals(expected, actual & 0xffff, () -> String.format("expected 0x%04x, got 0x%04x",
        expected, actual & 0xffff));
  }

  @Test
  void floatToHalf_normalsAndLimits_matchHandComputedBits() {
    assertBits(0x3c00, half(1.0f));
    assertBits(0xc000, half(-2.0f));
    assertBits(0x3555, half(1f / 3)); // 0x3555.4 rounds down
    assertBits(0x7bff, half(65504f)); // largest finite
    assertBits(0x7bff, half(65519.996f)); // just below the halfway point to infinity
    assertBits(0x7c00, half(65520f)); // halfway; ties to the even pattern, infinity
    assertBits(0x0000, half(0f));
    assertBits(0x8000, half(-0f));
    assertBits(0x0400, half(0x1p-14f)); // smallest normal
  }

  @Test
  void floatToHalf_ties_roundToEven() {
    assertBits(0x3c00, half(1f + 0x1p-11f)); // between 0x3c00 (even) and 0x3c01
    assertBits(0x3c02, half(1f + 3 * 0x1p-11f)); // between 0x3c01 and 0x3c02 (even)
    assertBits(0x3c01, half(1f + 0x1p-11f + 0x1p-20f)); // just above the tie rounds up
  }

  @Test
  void floatToHalf_subnormals_matchHandComputedBits() {
    assertBits(0x0001, half(0x1p-24f)); // smallest subnormal
    assertBits(0x0000, half(0x1p-25f)); // halfway to the smallest: ties to even zero
    assertBits(0x0001, half(0x1.8p-25f)); // 0.75 of the smallest rounds up
    assertBits(0x0002, half(3 * 0x1p-25f)); // 1.5 units: tie between 1 and 2, even is 2
    assertBits(0x0002, half(5 * 0x1p-25f)); // 2.5 units: tie between 2 and 3, even is 2
    assertBits(0x03ff, half(1023 * 0x1p-24f)); // largest subnormal
    assertBits(0x0400, half(1023.5f * 0x1p-24f)); // tie to the smallest normal (even)
    assertBits(0x8001, half(-0x1p-24f));
    assertBits(0x0000, half(1e-30f));
  }

  @Test
  void floatToHalf_infinityAndNaN_matchHandComputedBits() {
    assertBits(0x7c00, half(Float.POSITIVE_INFINITY));
    assertBits(0xfc00, half(Float.NEGATIVE_INFINITY));
    assertBits(0x7c00, half(1e10f));
    assertBits(0x7e00, half(Float.intBitsToFloat(0x7fc00000))); // canonical quiet NaN
    assertBits(0xfe00, half(Float.intBitsToFloat(0xffc00000)));
    assertBits(0x7e00, half(Float.intBitsToFloat(0x7f800001))); // payload lost: quiet bit set
    assertBits(0x7c01, HalfFloats.floatBitsToHalf(0x7f802000)); // top payload bits kept
  }

  @Test
  void halfToFloat_specialPatterns_matchHandComputedValues() {
    assertEquals(0x1p-24f, HalfFloats.halfToFloat((short) 0x0001));
    assertEquals(1023 * 0x1p-24f, HalfFloats.halfToFloat((short) 0x03ff));
    assertEquals(65504f, HalfFloats.halfToFloat((short) 0x7bff));
    assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.halfToFloat((short) 0xfc00));
    assertEquals(0x80000000, Float.floatToRawIntBits(HalfFloats.halfToFloat((short) 0x8000)));
    assertEquals(0x7fc00000, HalfFloats.halfBitsToFloatBits(0x7e00));
  }

  @Test
  void half_everyPattern_survivesWidenThenNarrow() {
    for (int h = 0; h < 1 << 16; h++) {
      int back = HalfFloats.floatBitsToHalf(HalfFloats.halfBitsToFloatBits(h)) & 0xffff;
      assertEquals(h, back, "pattern 0x" + Integer.toHexString(h));
    }
  }

  @Test
  void floatToHalf_randomFiniteValues_isNearestWithTiesToEven() {
    SplittableRandom rnd = new SplittableRandom(7);
    for (int i = 0; i < 200_000; i++) {
      // Exponents spanning zero, subnormals, normals and beyond the fp16 range.
      float x = (float) ((rnd.nextDouble() * 2 - 1) * Math.scalb(1.0, rnd.nextInt(-28, 18)));
      short h = half(x);
      double got = HalfFloats.halfToFloat(h);
      if (Double.isInfinite(got)) {
        assertTrue(Math.abs(x) >= 65520f, "only values from 65520 overflow: " + x);
        continue;
      }
      for (int neighbour : new int[] {(h & 0xffff) - 1, (h & 0xffff) + 1}) {
        if ((neighbour & 0x7fff) >= 0x7c00 || neighbour < 0 || (neighbour & 0x8000) != (h & 0x8000)) {
          continue;
        }
        double other = HalfFloats.halfToFloat((short) neighbour);
        double dGot = Math.abs(x - got);
        double dOther = Math.abs(x - other);
        assertTrue(dGot < dOther || (dGot == dOther && (h & 1) == 0),
            x + " -> 0x" + Integer.toHexString(h & 0xffff) + " but 0x"
                + Integer.toHexString(neighbour) + " is at least as near");
      }
    }
  }

  @Test
  void floatToBf16_roundingAndLimits_matchHandComputedBits() {
    assertBits(0x3f80, bf16(0x3f800000)); // 1.0
    assertBits(0x3f80, bf16(0x3f808000)); // tie, 0x3f80 is even
    assertBits(0x3f82, bf16(0x3f818000)); // tie, 0x3f82 is even
    assertBits(0x3f81, bf16(0x3f808001)); // above the tie
    assertBits(0x3f80, bf16(0x3f807fff)); // below the tie
    assertBits(0x7f80, bf16(0x7f7fffff)); // largest fp32 rounds to infinity
    assertBits(0x7f7f, bf16(0x7f7f7fff));
    assertBits(0xff80, bf16(0xff800000)); // -infinity
    assertBits(0x0000, bf16(0x00008000)); // subnormal tie to even zero
    assertBits(0x0002, bf16(0x00018000)); // subnormal tie to even
    assertBits(0x8001, bf16(0x80010000));
  }

  @Test
  void floatToBf16_nan_staysNaN() {
    assertBits(0x7fc0, bf16(0x7fc00000));
    assertBits(0x7fc0, bf16(0x7f800001)); // payload only in dropped bits: quiet bit set
    assertBits(0xff81, bf16(0xff810000)); // sign and payload kept
    assertBits(0x7fff, bf16(0x7fffffff)); // must not carry into the sign
  }

  @Test
  void bf16_everyPattern_survivesWidenThenNarrow() {
    for (int b = 0; b < 1 << 16; b++) {
      float f = HalfFloats.bf16ToFloat((short) b);
      assertEquals(b << 16, Float.floatToRawIntBits(f));
      assertEquals(b, HalfFloats.floatBitsToBf16(b << 16) & 0xffff);
    }
  }

  @Test
  void codec_bulkConversions_agreeWithScalar() {
    SplittableRandom rnd = new SplittableRandom(3);
    float[] values = new float[40_000]; // spans several chunks
    for (int i = 0; i < values.length; i++) {
      values[i] = Float.intBitsToFloat(rnd.nextInt());
    }
    for (Dtype dtype : new Dtype[] {Dtype.F16, Dtype.BF16}) {
      ByteBuffer stored = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
      TensorCodec.encode(FloatBuffer.wrap(values), dtype, stored);
      assertEquals(stored.capacity(), stored.position());
      stored.flip();
      float[] back = TensorCodec.decodeToArray(stored.duplicate(), dtype);
      for (int i = 0; i < values.length; i++) {
        short s = dtype == Dtype.F16 ? half(values[i]) : HalfFloats.floatToBf16(values[i]);
        assertEquals(s, stored.getShort(2 * i), dtype + " element " + i);
        float widened = dtype == Dtype.F16 ? HalfFloats.halfToFloat(s) : HalfFloats.bf16ToFloat(s);
        assertEquals(Float.floatToRawIntBits(widened), Float.floatToRawIntBits(back[i]));
      }
    }
  }
}
