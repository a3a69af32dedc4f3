package dev.graft.teacher.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.data.TokenBatch;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.ScoreChunk;
import dev.graft.teacher.ChunkAssembler;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Score answers cut into chunks under a byte budget and reassembled, and the status mapping. */
class ScoreChunkingTest {

  private static final String FINGERPRINT = "ab".repeat(32);

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
    ScoreChunker chunker = new ScoreChunker(scores, DType.DTYPE_FLOAT32, 50, 1024, FINGERPRINT);
    List<ScoreChunk> chunks = new ArrayList<>();
    chunker.forEachRemaining(chunks::add);
    assertTrue(chunks.size() > 1);
    ChunkAssembler assembler = new ChunkAssembler(b, t, new ScoreRequest.TopK(k, 1f));
    for (ScoreChunk c : chunks) {
      assertTrue(c.getSerializedSize() <= 1024);
      assertEquals(FINGERPRINT, c.getModelFingerprint(), "every chunk names the model that computed it");
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
    new ScoreChunker(scores, DType.DTYPE_FLOAT32, 10, 1024, FINGERPRINT).forEachRemaining(chunks::add);
    ScoreChunk only = chunks.get(0);
    ChunkAssembler wrongKind = new ChunkAssembler(1, 4, new ScoreRequest.Full(1f));
    assertThrows(IllegalStateException.class, () -> wrongKind.accept(only));
    ChunkAssembler gap = new ChunkAssembler(1, 4, new ScoreRequest.Targets(TokenBatch.of(new int[][] {{0, 0, 0, 0}}), 1f));
    assertThrows(IllegalStateException.class,
        () -> gap.accept(only.toBuilder().setPositionStart(1).build()));
    ChunkAssembler shortStream = new ChunkAssembler(1, 5, new ScoreRequest.Targets(TokenBatch.of(new int[][] {{0, 0, 0, 0, 0}}), 1f));
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
