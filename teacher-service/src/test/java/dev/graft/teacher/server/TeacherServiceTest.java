package dev.graft.teacher.server;

import static dev.graft.teacher.server.TestModels.VOCAB;
import static dev.graft.teacher.server.TestModels.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.graft.checkpoint.HalfFloats;
import dev.graft.data.TokenBatch;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.FullOutput;
import dev.graft.proto.v1.GetModelInfoRequest;
import dev.graft.proto.v1.ModelInfo;
import dev.graft.proto.v1.OutputKind;
import dev.graft.proto.v1.ScoreChunk;
import dev.graft.proto.v1.TeacherServiceGrpc;
import dev.graft.proto.v1.Tensor;
import dev.graft.proto.v1.TopKOutput;
import dev.graft.service.Descriptions;
import dev.graft.service.LoggedFailures;
import dev.graft.service.WireTensors;
import dev.graft.teacher.ChunkAssembler;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherProtos;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The teacher through a real gRPC channel (Netty on loopback). */
class TeacherServiceTest {

  private final LocalTeacher teacher = TestModels.teacher(32, 256);
  private final List<AutoCloseable> resources = new ArrayList<>();
  private TeacherServer server;
  private ManagedChannel channel;

  private TeacherServer start(Consumer<TeacherServerOptions.Builder> options) throws Exception {
    TeacherServerOptions.Builder b = TeacherServer.builder().teacher(teacher);
    options.accept(b);
    server = b.build().start();
    resources.add(server);
    channel = Grpc.newChannelBuilder("localhost:" + server.port(), InsecureChannelCredentials.create())
        .build();
    resources.add(channel::shutdownNow);
    return server;
  }

  private TeacherClient client(DType valueType) {
    TeacherClient c = TeacherClient.builder().endpoints(List.of("localhost:" + server.port()))
        .valueType(valueType).maxAttempts(1).build();
    resources.add(c);
    return c;
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  private TeacherServiceGrpc.TeacherServiceBlockingStub stub() {
    return TeacherServiceGrpc.newBlockingStub(channel);
  }

  private static dev.graft.proto.v1.ScoreRequest.Builder fullRequest(TokenBatch ids) {
    return dev.graft.proto.v1.ScoreRequest.newBuilder().setTokens(WireTensors.ids(ids))
        .setFull(FullOutput.getDefaultInstance());
  }

  /** Runs a Score call to completion and returns its status. */
  private Status statusOf(dev.graft.proto.v1.ScoreRequest request) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> stub().score(request).forEachRemaining(c -> { }));
    return e.getStatus();
  }

  @Test
  void getModelInfo_describesTheTeacher() throws Exception {
    start(b -> b.chunkBytes(4096));
    ModelInfo info = stub().getModelInfo(GetModelInfoRequest.getDefaultInstance());
    assertEquals(VOCAB, info.getVocabSize());
    assertEquals(teacher.info().modelFingerprint(), info.getModelFingerprint());
    assertEquals(32, info.getMaxSequenceLength());
    assertEquals(256, info.getMaxTokensPerRequest());
    assertEquals(4096, info.getMaxChunkBytes());
    assertEquals(List.of(OutputKind.OUTPUT_KIND_TOP_K, OutputKind.OUTPUT_KIND_FULL,
        OutputKind.OUTPUT_KIND_TARGETS, OutputKind.OUTPUT_KIND_HIDDEN_STATES),
        info.getSupportedOutputsList());
    assertEquals(teacher.info(), TeacherProtos.teacherInfo(info));
  }

  @Test
  void score_tokenBeyondVocab_isInvalidArgument() throws Exception {
    start(b -> { });
    TokenBatch ids = tokens(1, 4, 1);
    ids.ids()[3] = VOCAB;
    Status s = statusOf(fullRequest(ids).build());
    assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
    assertTrue(s.getDescription().contains("token id 97") && s.getDescription().contains("[0, 97)"),
        s.getDescription());
  }

  @Test
  void score_negativeToken_isInvalidArgument() throws Exception {
    start(b -> { });
    Tensor negative = WireTensors.ids(new int[] {5, -1}, 0, 2, DType.DTYPE_INT32, 1, 2);
    Status s = statusOf(fullRequest(tokens(1, 2, 1)).setTokens(negative).build());
    assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
    assertTrue(s.getDescription().contains("token id -1"), s.getDescription());
  }

  @Test
  void score_sequenceOverLimit_isInvalidArgument() throws Exception {
    start(b -> { });
    Status s = statusOf(fullRequest(tokens(1, 33, 1)).build());
    assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
    assertTrue(s.getDescription().contains("max_sequence_length 32"), s.getDescription());
  }

  @Test
  void score_tensorWithThousandsOfDimensions_isInvalidArgument_withABoundedDescription() throws Exception {
    start(b -> { });
    Tensor.Builder manyDims = Tensor.newBuilder().setDtype(DType.DTYPE_INT32)
        .setData(ByteString.copyFrom(new byte[4]));
    for (int i = 0; i < 5000; i++) {
      manyDims.addShape(1);
    }
    try (LoggedFailures logged = new LoggedFailures()) {
      Status s = statusOf(fullRequest(tokens(1, 2, 1)).setTokens(manyDims).build());
      assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), String.valueOf(s));
      assertTrue(s.getDescription().length() <= Descriptions.MAX_CHARS, s.getDescription().length() + " characters");
      assertTrue(s.getDescription().contains("tokens must have shape (batch, time)")
          && s.getDescription().contains("(4992 more)"), s.getDescription());
      assertEquals(List.of(), logged.withStackTraces(), "a client's mistake is not a server failure");
    }
    assertEquals(1.0, server.metrics().requests("invalid_argument"));
  }

  @Test
  void score_unsetOutputKind_isInvalidArgument() throws Exception {
    start(b -> { });
    Status s = statusOf(fullRequest(tokens(1, 3, 1)).clearOutput().build());
    assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
    assertTrue(s.getDescription().contains("top_k, full, targets or hidden_states"), s.getDescription());
  }

  @Test
  void score_malformedTensorOrDtype_isInvalidArgument() throws Exception {
    start(b -> { });
    Tensor shortData = WireTensors.ids(tokens(1, 3, 1)).toBuilder().addShape(2).build();
    assertEquals(Status.Code.INVALID_ARGUMENT, statusOf(fullRequest(tokens(1, 3, 1))
        .setTokens(shortData).build()).getCode());
    assertEquals(Status.Code.INVALID_ARGUMENT, statusOf(fullRequest(tokens(1, 3, 1))
        .setValueDtype(DType.DTYPE_INT32).build()).getCode());
    assertEquals(Status.Code.INVALID_ARGUMENT, statusOf(fullRequest(tokens(1, 3, 1))
        .setTemperature(0f).build()).getCode());
  }

  @Test
  void score_overCapacity_isResourceExhausted() throws Exception {
    QueueLatch queued = new QueueLatch(1);
    start(b -> b.capacityTokens(256).listener(queued));
    server.batcher().pause();
    CompletableFuture<Scores> first = CompletableFuture.supplyAsync(
        () -> client(DType.DTYPE_FLOAT32).score(tokens(8, 24, 1), new ScoreRequest.TopK(2, 1f)));
    queued.await();
    Status s = statusOf(fullRequest(tokens(4, 24, 2)).build());
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, s.getCode());
    assertTrue(s.getDescription().contains("192 of 256"), s.getDescription());
    server.batcher().resume();
    assertEquals(8, first.get().batch());
    assertEquals(1.0, server.metrics().requests("resource_exhausted"));
  }

  @Test
  void score_throughGrpc_fp32_isBitExactWithLocalTeacher() throws Exception {
    start(b -> b.chunkBytes(2048));
    TeacherClient client = client(DType.DTYPE_FLOAT32);
    TokenBatch ids = tokens(3, 11, 3);
    Scores.TopK local = (Scores.TopK) teacher.score(ids, new ScoreRequest.TopK(7, 1.5f));
    Scores.TopK remote = (Scores.TopK) client.score(ids, new ScoreRequest.TopK(7, 1.5f));
    assertArrayEquals(local.ids(), remote.ids());
    assertArrayEquals(local.logProbs(), remote.logProbs());
    assertArrayEquals(local.logTail(), remote.logTail());
    ScoreRequest full = new ScoreRequest.Full(1f);
    assertArrayEquals(((Scores.Full) teacher.score(ids, full)).logProbs(),
        ((Scores.Full) client.score(ids, full)).logProbs());
    ScoreRequest targets = new ScoreRequest.Targets(tokens(3, 11, 4), 1f);
    assertArrayEquals(((Scores.Targets) teacher.score(ids, targets)).logProbs(),
        ((Scores.Targets) client.score(ids, targets)).logProbs());
  }

  @Test
  void score_throughGrpc_fp16AndBf16_equalLocalRoundedToNearest() throws Exception {
    start(b -> { });
    TokenBatch ids = tokens(2, 6, 5);
    Scores.TopK local = (Scores.TopK) teacher.score(ids, new ScoreRequest.TopK(VOCAB, 1f));
    Scores.TopK fp16 = (Scores.TopK) client(DType.DTYPE_FLOAT16).score(ids, new ScoreRequest.TopK(VOCAB, 1f));
    Scores.TopK bf16 = (Scores.TopK) client(DType.DTYPE_BFLOAT16).score(ids, new ScoreRequest.TopK(VOCAB, 1f));
    assertArrayEquals(local.ids(), fp16.ids());
    for (int i = 0; i < local.logProbs().length; i++) {
      float v = local.logProbs()[i];
      assertEquals(HalfFloats.halfToFloat(HalfFloats.floatToHalf(v)), fp16.logProbs()[i]);
      assertEquals(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(v)), bf16.logProbs()[i]);
      assertEquals(v, fp16.logProbs()[i], Math.abs(v) * 0x1p-11 + 1e-7);
      assertEquals(v, bf16.logProbs()[i], Math.abs(v) * 0x1p-8 + 1e-7);
    }
    assertEquals(Float.NEGATIVE_INFINITY, fp16.logTail()[0], "k = V keeps an empty tail");
    assertEquals(Float.NEGATIVE_INFINITY, bf16.logTail()[0]);
  }

  @Test
  void score_fullDistribution_arrivesInSeveralChunks_eachUnderTheBudget() throws Exception {
    int budget = 2048;
    start(b -> b.chunkBytes(budget));
    TokenBatch ids = tokens(2, 16, 6);
    List<ScoreChunk> chunks = new ArrayList<>();
    stub().score(fullRequest(ids).build()).forEachRemaining(chunks::add);
    assertTrue(chunks.size() >= 8, "32 positions of 97 fp32 values in 2 KiB chunks: " + chunks.size());
    ChunkAssembler assembler = new ChunkAssembler(2, 16, new ScoreRequest.Full(1f));
    for (ScoreChunk c : chunks) {
      assertTrue(c.getSerializedSize() <= budget, "chunk of " + c.getSerializedSize() + " bytes");
      assertEquals(teacher.info().modelFingerprint(), c.getModelFingerprint());
      assembler.accept(c);
    }
    assertArrayEquals(((Scores.Full) teacher.score(ids, new ScoreRequest.Full(1f))).logProbs(),
        ((Scores.Full) assembler.finish()).logProbs());
  }

  @Test
  void score_topKWithUint16Ids_isCompact() throws Exception {
    start(b -> { });
    var request = fullRequest(tokens(1, 4, 7)).setTopK(TopKOutput.newBuilder().setK(3))
        .setValueDtype(DType.DTYPE_BFLOAT16).build();
    ScoreChunk chunk = stub().score(request).next();
    assertEquals(DType.DTYPE_UINT16, chunk.getTopK().getIds().getDtype());
    assertEquals(DType.DTYPE_BFLOAT16, chunk.getTopK().getLogProbs().getDtype());
    assertEquals(4 * 3 * 2, chunk.getTopK().getIds().getData().size());
  }

  /** Releases waiters once the batcher's queue reaches a depth. */
  static final class QueueLatch implements ScoreBatcher.Listener {
    private final java.util.concurrent.CountDownLatch latch;
    private final int depth;

    QueueLatch(int depth) {
      this.depth = depth;
      this.latch = new java.util.concurrent.CountDownLatch(1);
    }

    @Override
    public void onQueued(int queueDepth) {
      if (queueDepth >= depth) {
        latch.countDown();
      }
    }

    void await() throws InterruptedException {
      if (!latch.await(30, java.util.concurrent.TimeUnit.SECONDS)) {
        throw new AssertionError("the batcher never held " + depth + " queued requests");
      }
    }
  }
}
