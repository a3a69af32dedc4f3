package dev.graft.teacher.server;

import static dev.graft.teacher.server.TestModels.CONFIG;
import static dev.graft.teacher.server.TestModels.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HalfFloats;
import dev.graft.data.TokenBatch;
import dev.graft.model.DecoderLayer;
import dev.graft.model.LlamaModel;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.HiddenStatesOutput;
import dev.graft.proto.v1.ModelInfo;
import dev.graft.proto.v1.OutputKind;
import dev.graft.proto.v1.ScoreChunk;
import dev.graft.proto.v1.TeacherServiceGrpc;
import dev.graft.service.WireTensors;
import dev.graft.teacher.ChunkAssembler;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherLimits;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The hidden_states output kind through a real gRPC channel (Netty on loopback). */
class HiddenStatesTest {

  private static final int D = CONFIG.hiddenSize();
  private static final int LAYERS = CONFIG.numHiddenLayers();

  private final List<AutoCloseable> resources = new ArrayList<>();
  private TeacherServer server;
  private ManagedChannel channel;

  private void start(LocalTeacher teacher, int chunkBytes) throws Exception {
    server = TeacherServer.builder().teacher(teacher).chunkBytes(chunkBytes).build().start();
    resources.add(server);
    channel = Grpc.newChannelBuilder("localhost:" + server.port(),
        InsecureChannelCredentials.create()).build();
    resources.add(channel::shutdownNow);
  }

  private void start(int chunkBytes) throws Exception {
    start(TestModels.teacher(32, 64), chunkBytes);
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

  /**
   * The model's own (B·T·D) states of every layer: [layer][input, mixer input, output, mixer
   * output], the mixer output from the layer's attention called on its own.
   */
  private static float[][][] expected(TokenBatch ids) {
    LlamaModel model = TestModels.model();
    float[][][] out = new float[LAYERS][4][];
    try (NDManager m = model.manager().newSubManager()) {
      NDArray h = model.backbone().embedding().forward(ids.toNDArray(m));
      for (int i = 0; i < LAYERS; i++) {
        DecoderLayer layer = model.layers().get(i);
        out[i][0] = h.toFloatArray();
        NDArray normed = layer.inputNorm().forward(h);
        out[i][1] = normed.toFloatArray();
        out[i][3] = layer.mixer().forward(normed).toFloatArray();
        h = layer.forward(h);
        out[i][2] = h.toFloatArray();
      }
    }
    return out;
  }

  private static dev.graft.proto.v1.ScoreRequest request(TokenBatch ids, List<Integer> layers,
      boolean in, boolean mixer, boolean out) {
    return request(ids, layers, in, mixer, out, false);
  }

  private static dev.graft.proto.v1.ScoreRequest request(TokenBatch ids, List<Integer> layers,
      boolean in, boolean mixer, boolean out, boolean mixerOut) {
    return dev.graft.proto.v1.ScoreRequest.newBuilder().setTokens(WireTensors.ids(ids))
        .setHiddenStates(HiddenStatesOutput.newBuilder().addAllLayers(layers)
            .setLayerInput(in).setMixerInput(mixer).setLayerOutput(out).setMixerOutput(mixerOut))
        .build();
  }

  private Status statusOf(dev.graft.proto.v1.ScoreRequest request) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> stub().score(request).forEachRemaining(c -> { }));
    return e.getStatus();
  }

  @Test
  void fp32_equalsTheModelsOwnLayerTensors_inTheRequestedOrder() throws Exception {
    start(1 << 20);
    TokenBatch ids = tokens(2, 5, 11);
    float[][][] want = expected(ids);
    Scores.HiddenStates got = client(DType.DTYPE_FLOAT32).hiddenStates(ids,
        new ScoreRequest.HiddenStates(List.of(1, 0), true, true, true));
    assertEquals(List.of(1, 0), got.layers().stream().map(Scores.Layer::index).toList());
    assertEquals(D, got.hidden());
    for (int layer : List.of(0, 1)) {
      Scores.Layer l = got.layer(layer);
      assertArrayEquals(want[layer][0], l.input(), "layer " + layer + " input");
      assertArrayEquals(want[layer][1], l.mixerInput(), "layer " + layer + " mixer input");
      assertArrayEquals(want[layer][2], l.output(), "layer " + layer + " output");
    }
  }

  @Test
  void mixerOutput_equalsTheLayersOwnAttentionOutput_andAddsUpToTheLayerOutput() throws Exception {
    start(1 << 20);
    TokenBatch ids = tokens(2, 6, 21);
    float[][][] want = expected(ids);
    Scores.HiddenStates got = client(DType.DTYPE_FLOAT32).hiddenStates(ids,
        new ScoreRequest.HiddenStates(List.of(0, 1), true, true, true, true));
    for (int layer : List.of(0, 1)) {
      Scores.Layer l = got.layer(layer);
      assertArrayEquals(want[layer][3], l.mixerOutput(), "layer " + layer + " mixer output");
      assertArrayEquals(want[layer][2], l.output(), "layer " + layer + " output");
    }
    // The attention's output is a real, non-trivial part of the residual stream.
    float[] mixed = got.layer(1).mixerOutput();
    assertTrue(java.util.stream.IntStream.range(0, mixed.length).anyMatch(i -> Math.abs(mixed[i]) > 1e-3));
    Scores.HiddenStates alone = client(DType.DTYPE_FLOAT32).hiddenStates(ids,
        new ScoreRequest.HiddenStates(List.of(1), false, false, false, true));
    assertArrayEquals(want[1][3], alone.layer(1).mixerOutput());
    assertNull(alone.layer(1).output());
    assertNull(alone.layer(1).input());
  }

  @Test
  void mixerOutput_travelsInItsOwnFieldOfEveryChunk() throws Exception {
    start(2048);
    TokenBatch ids = tokens(1, 9, 22);
    List<ScoreChunk> chunks = new ArrayList<>();
    stub().score(request(ids, List.of(0), false, false, false, true)).forEachRemaining(chunks::add);
    assertEquals(2, chunks.size(), "9 positions of 256 bytes in chunks of 6");
    for (ScoreChunk c : chunks) {
      dev.graft.proto.v1.LayerHiddenStates l = c.getHiddenStates().getLayers(0);
      assertTrue(l.hasMixerOutput());
      assertTrue(!l.hasLayerOutput() && !l.hasLayerInput() && !l.hasMixerInput());
      assertEquals(List.of((long) c.getPositionCount(), (long) D), l.getMixerOutput().getShapeList());
    }
    // Stage 1's pair of points: 512 bytes per position, 3 positions per chunk, each within the budget.
    List<ScoreChunk> all = new ArrayList<>();
    stub().score(request(ids, List.of(1), false, true, false, true)).forEachRemaining(all::add);
    assertEquals(List.of(3, 3, 3), all.stream().map(ScoreChunk::getPositionCount).toList());
    for (ScoreChunk c : all) {
      assertTrue(c.getSerializedSize() <= 2048, "chunk of " + c.getSerializedSize() + " bytes");
    }
  }

  @Test
  void bf16_isTheModelsStatesRoundedToBf16_andUnaskedPointsAreAbsent() throws Exception {
    start(1 << 20);
    TokenBatch ids = tokens(1, 6, 12);
    float[] want = expected(ids)[0][2];
    Scores.HiddenStates got = client(DType.DTYPE_BFLOAT16).hiddenStates(ids,
        new ScoreRequest.HiddenStates(List.of(0), false, false, true));
    float[] rounded = new float[want.length];
    for (int i = 0; i < want.length; i++) {
      rounded[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(want[i]));
    }
    assertArrayEquals(rounded, got.layer(0).output());
    assertNull(got.layer(0).input());
    assertNull(got.layer(0).mixerInput());
  }

  @Test
  void answer_isChunkedUnderTheBudget_withTheFingerprintOnEveryChunk() throws Exception {
    int budget = 2048;
    start(budget);
    TokenBatch ids = tokens(2, 7, 13);
    ModelInfo info = stub().getModelInfo(dev.graft.proto.v1.GetModelInfoRequest.getDefaultInstance());
    List<ScoreChunk> chunks = new ArrayList<>();
    stub().score(request(ids, List.of(1), false, false, true)).forEachRemaining(chunks::add);
    // 256 bytes of fp32 per position: 6 positions fit in 2048 bytes with the overheads.
    assertEquals(3, chunks.size(), "14 positions in chunks of 6");
    ScoreRequest.HiddenStates domain = new ScoreRequest.HiddenStates(List.of(1), false, false, true);
    ChunkAssembler assembler = new ChunkAssembler(2, 7, domain);
    for (ScoreChunk c : chunks) {
      assertTrue(c.getSerializedSize() <= budget, "chunk of " + c.getSerializedSize() + " bytes");
      assertEquals(info.getModelFingerprint(), c.getModelFingerprint());
      assertTrue(c.hasHiddenStates());
      assertEquals(1, c.getHiddenStates().getLayers(0).getLayer());
      assertEquals(List.of((long) c.getPositionCount(), (long) D),
          c.getHiddenStates().getLayers(0).getLayerOutput().getShapeList());
      assertTrue(!c.getHiddenStates().getLayers(0).hasLayerInput());
      assertTrue(!info.getModelFingerprint().isEmpty());
      assembler.accept(c);
    }
    assertEquals(List.of(0L, 6L, 12L), chunks.stream().map(ScoreChunk::getPositionStart).toList());
    Scores.HiddenStates got = (Scores.HiddenStates) assembler.finish();
    assertArrayEquals(expected(ids)[1][2], got.layer(1).output());
  }

  @Test
  void modelInfo_advertisesHiddenStates() throws Exception {
    start(TestModels.teacher(32, 64), 1 << 20);
    ModelInfo info = stub().getModelInfo(dev.graft.proto.v1.GetModelInfoRequest.getDefaultInstance());
    assertTrue(info.getSupportedOutputsList().contains(OutputKind.OUTPUT_KIND_HIDDEN_STATES));
    assertEquals(LAYERS, info.getNumHiddenLayers());
    assertEquals(D, info.getHiddenSize());
    assertEquals(LocalTeacher.DEFAULT_MAX_HIDDEN_STATE_BYTES, info.getMaxHiddenStateBytes());
  }

  @Test
  void refusals_areInvalidArgument_withClearDescriptions() throws Exception {
    // 2 layers x 3 points x 8 tokens x 64 x 4 = 12,288 bytes
    start(new LocalTeacher(TestModels.model(), new TeacherLimits(32, 16), 12_288), 1 << 20);
    TokenBatch ids = tokens(1, 8, 14);
    assertRefused(request(ids, List.of(), false, false, true),
        "hidden states need at least one layer index");
    assertRefused(request(ids, List.of(0, 1, 0), false, false, true),
        "layer index 0 is listed twice");
    assertRefused(request(ids, List.of(0, LAYERS), false, false, true),
        "hidden_states layer index 2 is outside the model's layers [0, 2)");
    assertRefused(request(ids, List.of(-1), false, false, true), // uint32 4294967295
        "hidden_states layer index 4294967295 is outside the model's layers");
    assertRefused(request(ids, List.of(0), false, false, false),
        "hidden states need at least one of layer_input, mixer_input, mixer_output or layer_output");
    assertRefused(request(tokens(1, 17, 15), List.of(0), false, false, true),
        "over the teacher's max_tokens_per_request 16");
    assertRefused(request(tokens(2, 8, 16), List.of(0, 1), true, true, true),
        "= 24576 bytes exceed the teacher's max_hidden_state_bytes 12288");
    // the mixer output counts as a fourth point
    assertRefused(request(ids, List.of(0, 1), true, true, true, true),
        "hidden states of 2 layers x 4 points x 8 tokens x 64 hidden x 4 = 16384 bytes exceed the teacher's"
            + " max_hidden_state_bytes 12288");
    // exactly at the bound is served
    List<ScoreChunk> chunks = new ArrayList<>();
    stub().score(request(ids, List.of(0, 1), true, true, true)).forEachRemaining(chunks::add);
    assertEquals(8, chunks.stream().mapToInt(ScoreChunk::getPositionCount).sum());
  }

  @Test
  void maxHiddenStateBytes_ofALoadedCheckpoint_isAdvertisedAndEnforced(@org.junit.jupiter.api.io.TempDir
      java.nio.file.Path dir) throws Exception {
    dev.graft.checkpoint.HfCheckpoint.save(dir, CONFIG, TestModels.model().namedParameters(),
        dev.graft.checkpoint.Dtype.F32, Long.MAX_VALUE);
    server = TeacherServer.builder().checkpoint(dir).maxHiddenStateBytes(4096).build().start();
    resources.add(server);
    channel = Grpc.newChannelBuilder("localhost:" + server.port(), InsecureChannelCredentials.create()).build();
    resources.add(channel::shutdownNow);
    ModelInfo info = stub().getModelInfo(dev.graft.proto.v1.GetModelInfoRequest.getDefaultInstance());
    assertEquals(4096, info.getMaxHiddenStateBytes());
    // 1 layer x 2 points x 8 tokens x 64 x 4 = 4096 bytes: served; one more token is refused
    List<ScoreChunk> chunks = new ArrayList<>();
    stub().score(request(tokens(1, 8, 23), List.of(0), false, true, false, true)).forEachRemaining(chunks::add);
    assertEquals(8, chunks.stream().mapToInt(ScoreChunk::getPositionCount).sum());
    assertRefused(request(tokens(1, 9, 23), List.of(0), false, true, false, true),
        "= 4608 bytes exceed the teacher's max_hidden_state_bytes 4096");
    IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
        () -> TeacherServer.builder().checkpoint(dir).maxHiddenStateBytes(-1).build());
    assertEquals("max_hidden_state_bytes (-1) must be >= 0 (0 = default)", negative.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> TeacherServer.builder().teacher(TestModels.teacher(32, 64)).maxHiddenStateBytes(4096).build());
  }

  @Test
  void client_refusal_isIllegalArgumentWithTheServersMessage() throws Exception {
    start(1 << 20);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> client(DType.DTYPE_FLOAT32).hiddenStates(tokens(1, 4, 17),
            new ScoreRequest.HiddenStates(List.of(5), true, false, false)));
    assertTrue(e.getMessage().contains("layer index 5 is outside the model's layers [0, 2)"),
        e.getMessage());
  }

  private void assertRefused(dev.graft.proto.v1.ScoreRequest request, String message) {
    Status status = statusOf(request);
    assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode(), status.toString());
    assertTrue(status.getDescription().contains(message), status.getDescription());
  }
}
