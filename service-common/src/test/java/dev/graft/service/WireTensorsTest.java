package dev.graft.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.checkpoint.HalfFloats;
import dev.graft.data.TokenBatch;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.Tensor;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WireTensorsTest {

  @Test
  void ids_roundTripInEveryIdDtype() {
    int[] ids = {0, 1, 65535, 7};
    for (DType t : List.of(DType.DTYPE_UINT16, DType.DTYPE_INT32, DType.DTYPE_INT64)) {
      Tensor tensor = WireTensors.ids(ids, 0, 4, t, 2, 2);
      assertArrayEquals(ids, WireTensors.decodeIds(tensor, "ids"));
    }
    TokenBatch big = TokenBatch.of(new int[][] {{70_000, 1}});
    assertEquals(DType.DTYPE_INT32, WireTensors.ids(big).getDtype());
    assertArrayEquals(big.ids(), WireTensors.decodeTokenBatch(WireTensors.ids(big), "t").ids());
    assertEquals(DType.DTYPE_UINT16, WireTensors.ids(TokenBatch.of(new int[][] {{3}})).getDtype());
    assertEquals(List.of(1L, 2L), WireTensors.ids(big).getShapeList());
  }

  @Test
  void values_roundTripExactlyAfterRounding() {
    float[] v = {0f, -1.5f, -3.14159f, Float.NEGATIVE_INFINITY, -1e-9f};
    assertArrayEquals(v, WireTensors.decodeValues(WireTensors.values(v, 0, 5, DType.DTYPE_FLOAT32, 5), "v"));
    float[] half = WireTensors.decodeValues(WireTensors.values(v, 0, 5, DType.DTYPE_FLOAT16, 5), "v");
    float[] bf = WireTensors.decodeValues(WireTensors.values(v, 0, 5, DType.DTYPE_BFLOAT16, 5), "v");
    assertEquals(-3.140625f, half[2]);
    assertEquals(-3.140625f, bf[2]);
    assertEquals(Float.NEGATIVE_INFINITY, half[3]);
    assertEquals(Float.NEGATIVE_INFINITY, bf[3]);
  }

  @Test
  void halfPrecisionValues_roundExactlyAsOneElementAtATime() {
    Random rng = new Random(3);
    float[] v = new float[50_000];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(12) - 6));
    }
    v[0] = Float.NaN;
    v[1] = 65520f;
    v[2] = -0f;
    float[] half = WireTensors.decodeValues(WireTensors.values(v, 0, v.length, DType.DTYPE_FLOAT16, v.length), "v");
    float[] bf = WireTensors.decodeValues(WireTensors.values(v, 0, v.length, DType.DTYPE_BFLOAT16, v.length), "v");
    for (int i = 0; i < v.length; i++) {
      assertEquals(Float.floatToIntBits(HalfFloats.halfToFloat(HalfFloats.floatToHalf(v[i]))),
          Float.floatToIntBits(half[i]), "fp16 of " + v[i]);
      assertEquals(Float.floatToIntBits(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(v[i]))),
          Float.floatToIntBits(bf[i]), "bf16 of " + v[i]);
    }
  }

  @Test
  void decode_dataLengthNotMatchingShape_isRejectedNamingBoth() {
    Tensor bad = Tensor.newBuilder().setDtype(DType.DTYPE_INT32).addShape(2).addShape(3)
        .setData(com.google.protobuf.ByteString.copyFrom(new byte[20])).build();
    String m = assertThrows(IllegalArgumentException.class, () -> WireTensors.decodeIds(bad, "tokens"))
        .getMessage();
    assertTrue(m.contains("needs 24 bytes") && m.contains("got 20"), m);
    assertThrows(IllegalArgumentException.class,
        () -> WireTensors.decodeTokenBatch(WireTensors.ids(new int[2], 0, 2, DType.DTYPE_INT32, 2), "t"));
    assertThrows(IllegalArgumentException.class,
        () -> WireTensors.ids(new int[] {70_000}, 0, 1, DType.DTYPE_UINT16, 1));
    assertEquals("rollout log_probs must be DTYPE_FLOAT32, got DTYPE_FLOAT16", assertThrows(
        IllegalArgumentException.class, () -> WireTensors.decodeValues(
            WireTensors.values(new float[] {1}, 0, 1, DType.DTYPE_FLOAT16, 1), "rollout log_probs",
            List.of(DType.DTYPE_FLOAT32))).getMessage());
  }

  @Test
  void malformedShapes_areNamedInBoundedMessages() {
    Tensor.Builder manyDims = Tensor.newBuilder().setDtype(DType.DTYPE_INT32)
        .setData(com.google.protobuf.ByteString.copyFrom(new byte[8]));
    for (int i = 0; i < 5000; i++) {
      manyDims.addShape(1);
    }
    Tensor t = manyDims.build();
    for (Runnable decode : List.<Runnable>of(() -> WireTensors.decodeTokenBatch(t, "tokens"),
        () -> WireTensors.decodeIds(t, "tokens"), () -> WireTensors.decodeValues(
            t.toBuilder().setDtype(DType.DTYPE_FLOAT32).build(), "tokens"))) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, decode::run);
      assertTrue(e.getMessage().length() <= Descriptions.MAX_CHARS, e.getMessage().length() + " characters");
      assertTrue(e.getMessage().contains("[1, 1, 1, 1, 1, 1, 1, 1, ... (4992 more)]"), e.getMessage());
    }
  }
}
