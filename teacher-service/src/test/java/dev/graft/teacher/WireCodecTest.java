package dev.graft.teacher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.ScoreChunk;
import dev.graft.proto.v1.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WireCodecTest {

  @Test
  void ids_roundTripInEveryIdDtype() {
    int[] ids = {0, 1, 65535, 7};
    for (DType t : List.of(DType.DTYPE_UINT16, DType.DTYPE_INT32, DType.DTYPE_INT64)) {
      Tensor tensor = WireCodec.encodeIds(ids, 0, 4, t, 2, 2);
      assertArrayEquals(ids, WireCodec.decodeIds(tensor, "ids"));
    }
    int[][] big = {{70_000, 1}};
    assertEquals(DType.DTYPE_INT32, WireCodec.encodeIdMatrix(big).getDtype());
    assertArrayEquals(big[0], WireCodec.decodeIdMatrix(WireCodec.encodeIdMatrix(big), "t")[0]);
    assertEquals(DType.DTYPE_UINT16, WireCodec.encodeIdMatrix(new int[][] {{3}}).getDtype());
  }

  @Test
  void values_roundTripExactlyAfterRounding() {
    float[] v = {0f, -1.5f, -3.14159f, Float.NEGATIVE_INFINITY, -1e-9f};
    assertArrayEquals(v, WireCodec.decodeValues(WireCodec.encodeValues(v, 0, 5, DType.DTYPE_FLOAT32, 5), "v"));
    float[] half = WireCodec.decodeValues(WireCodec.encodeValues(v, 0, 5, DType.DTYPE_FLOAT16, 5), "v");
    float[] bf = WireCodec.decodeValues(WireCodec.encodeValues(v, 0, 5, DType.DTYPE_BFLOAT16, 5), "v");
    assertEquals(-3.140625f, half[2]);
    assertEquals(-3.140625f, bf[2]);
    assertEquals(Float.NEGATIVE_INFINITY, half[3]);
    assertEquals(Float.NEGATIVE_INFINITY, bf[3]);
  }

  @Test
  void decode_dataLengthNotMatchingShape_isRejectedNamingBoth() {
    Tensor bad = Tensor.newBuilder().setDtype(DType.DTYPE_INT32).addShape(2).addShape(3)
        .setData(com.google.protobuf.ByteString.copyFrom(new byte[20])).build();
    String m = assertThrows(IllegalArgumentException.class, () -> WireCodec.decodeIds(bad, "tokens"))
        .getMessage();
    assertTrue(m.contains("needs 24 bytes") && m.contains("got 20"), m);
    assertThrows(IllegalArgumentException.class,
        () -> WireCodec.decodeIdMatrix(WireCodec.encodeIds(new int[2], 0, 2, DType.DTYPE_INT32, 2), "t"));
    assertThrows(IllegalArgumentException.class,
        () -> WireCodec.encodeIds(new int[] {70_000}, 0, 1, DType.DTYPE_UINT16, 1));
  }

  @Test
  void chunker_coversEveryPositionOnce_underTheBudget_andReassembles() {
    int b = 3;
    int t = 10;
    int k = 4;
    int[] ids = new int[b * t * k];
    float[] lp = new float[b * t * k];
    float[] tail = new float[b * t];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = i % 50;
      lp[i] = -i / 10f;
    }
    Scores.TopK scores = new Scores.TopK(b, t, k, ids, lp, tail);
    ScoreChunker chunker = new ScoreChunker(scores, DType.DTYPE_FLOAT32, 50, 1024);
    List<ScoreChunk> chunks = new ArrayList<>();
    chunker.forEachRemaining(chunks::add);
    assertTrue(chunks.size() > 1);
    ChunkAssembler assembler = new ChunkAssembler(b, t, new ScoreRequest.TopK(k, 1f));
    for (ScoreChunk c : chunks) {
      assertTrue(c.getSerializedSize() <= 1024);
      assembler.accept(c);
    }
    Scores.TopK back = (Scores.TopK) assembler.finish();
    assertArrayEquals(ids, back.ids());
    assertArrayEquals(lp, back.logProbs());
    assertArrayEquals(tail, back.logTail());
  }

  @Test
  void assembler_rejectsGapsWrongKindAndShortStreams() {
    Scores.Targets scores = new Scores.Targets(1, 4, new float[] {1, 2, 3, 4});
    List<ScoreChunk> chunks = new ArrayList<>();
    new ScoreChunker(scores, DType.DTYPE_FLOAT32, 10, 1024).forEachRemaining(chunks::add);
    ScoreChunk only = chunks.get(0);
    ChunkAssembler wrongKind = new ChunkAssembler(1, 4, new ScoreRequest.Full(1f));
    assertThrows(IllegalStateException.class, () -> wrongKind.accept(only));
    ChunkAssembler gap = new ChunkAssembler(1, 4, new ScoreRequest.Targets(new int[][] {{0, 0, 0, 0}}, 1f));
    assertThrows(IllegalStateException.class,
        () -> gap.accept(only.toBuilder().setPositionStart(1).build()));
    ChunkAssembler shortStream = new ChunkAssembler(1, 5, new ScoreRequest.Targets(new int[][] {{0, 0, 0, 0, 0}}, 1f));
    assertThrows(IllegalStateException.class, shortStream::finish);
  }

  @Test
  void grpcService_mapsDomainErrorsToStatuses() {
    assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT,
        TeacherGrpcService.toStatus(new IllegalArgumentException("x")).getCode());
    assertEquals(io.grpc.Status.Code.RESOURCE_EXHAUSTED,
        TeacherGrpcService.toStatus(new TeacherOverloadedException("x")).getCode());
    assertEquals(io.grpc.Status.Code.UNAVAILABLE,
        TeacherGrpcService.toStatus(new IllegalStateException("shutting down")).getCode());
    assertEquals(io.grpc.Status.Code.INTERNAL,
        TeacherGrpcService.toStatus(new ArithmeticException()).getCode());
  }
}
