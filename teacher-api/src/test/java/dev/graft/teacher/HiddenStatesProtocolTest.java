package dev.graft.teacher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.data.TokenBatch;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.HiddenStatesChunk;
import dev.graft.proto.v1.LayerHiddenStates;
import dev.graft.proto.v1.ScoreChunk;
import dev.graft.service.WireTensors;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The hidden-states request and answer on the wire, without a server. */
class HiddenStatesProtocolTest {

  private static final ScoreRequest.HiddenStates REQUEST =
      new ScoreRequest.HiddenStates(List.of(3, 1), true, false, true);

  @Test
  void request_roundTripsThroughTheWire() {
    TokenBatch tokens = TokenBatch.of(new int[][] {{1, 2, 3}});
    var proto = TeacherProtos.encode(tokens, REQUEST, DType.DTYPE_BFLOAT16);
    assertTrue(proto.hasHiddenStates());
    TeacherProtos.Decoded back = TeacherProtos.decode(proto);
    assertEquals(REQUEST, back.request());
    assertEquals(DType.DTYPE_BFLOAT16, back.valueType());
    ScoreRequest.HiddenStates withMixerOutput = new ScoreRequest.HiddenStates(List.of(0), false, false, false, true);
    var mixer = TeacherProtos.encode(tokens, withMixerOutput, DType.DTYPE_FLOAT32);
    assertTrue(mixer.getHiddenStates().getMixerOutput());
    assertEquals(withMixerOutput, TeacherProtos.decode(mixer).request());
    assertEquals(1, withMixerOutput.points());
  }

  @Test
  void assembler_refusesAMissingOrUnaskedMixerOutput() {
    ScoreRequest.HiddenStates asked = new ScoreRequest.HiddenStates(List.of(0), false, false, true, true);
    IllegalStateException missing = assertThrows(IllegalStateException.class,
        () -> new ChunkAssembler(1, 2, asked).accept(chunk(0, 2, layer(0, null, new float[] {1, 2, 3, 4}, 2))));
    assertEquals("malformed score stream: layer 0 mixer_output is missing", missing.getMessage());
    LayerHiddenStates extra = layer(0, null, new float[] {1, 2, 3, 4}, 2).toBuilder()
        .setMixerOutput(WireTensors.values(new float[] {5, 6, 7, 8}, 0, 4, DType.DTYPE_FLOAT32, 2, 2)).build();
    IllegalStateException unasked = assertThrows(IllegalStateException.class,
        () -> new ChunkAssembler(1, 2, new ScoreRequest.HiddenStates(List.of(0), false, false, true))
            .accept(chunk(0, 2, extra)));
    assertEquals("malformed score stream: layer 0 mixer_output is not requested", unasked.getMessage());
    ChunkAssembler ok = new ChunkAssembler(1, 2, asked);
    ok.accept(chunk(0, 2, extra));
    assertArrayEquals(new float[] {5, 6, 7, 8}, ((Scores.HiddenStates) ok.finish()).layer(0).mixerOutput());
  }

  @Test
  void request_refusesEmptyDuplicatedNegativeOrPointless() {
    assertEquals("hidden states need at least one layer index", assertThrows(
        IllegalArgumentException.class,
        () -> new ScoreRequest.HiddenStates(List.of(), true, true, true)).getMessage());
    assertEquals("layer index 2 is listed twice", assertThrows(IllegalArgumentException.class,
        () -> new ScoreRequest.HiddenStates(List.of(2, 0, 2), true, true, true)).getMessage());
    assertEquals("layer index -1 is negative", assertThrows(IllegalArgumentException.class,
        () -> new ScoreRequest.HiddenStates(List.of(-1), true, true, true)).getMessage());
    assertEquals("hidden states need at least one of layer_input, mixer_input, mixer_output or layer_output",
        assertThrows(IllegalArgumentException.class,
            () -> new ScoreRequest.HiddenStates(List.of(0), false, false, false)).getMessage());
  }

  private static LayerHiddenStates layer(int index, float[] in, float[] out, int count) {
    LayerHiddenStates.Builder b = LayerHiddenStates.newBuilder().setLayer(index);
    if (in != null) {
      b.setLayerInput(WireTensors.values(in, 0, in.length, DType.DTYPE_FLOAT32, count, in.length / count));
    }
    if (out != null) {
      b.setLayerOutput(WireTensors.values(out, 0, out.length, DType.DTYPE_FLOAT32, count, out.length / count));
    }
    return b.build();
  }

  private static ScoreChunk chunk(int start, int count, LayerHiddenStates... layers) {
    return ScoreChunk.newBuilder().setBatch(1).setLength(2).setPositionStart(start)
        .setPositionCount(count)
        .setHiddenStates(HiddenStatesChunk.newBuilder().addAllLayers(List.of(layers))).build();
  }

  @Test
  void assembler_joinsChunksPerLayerAndPoint() {
    ChunkAssembler a = new ChunkAssembler(1, 2, REQUEST);
    a.accept(chunk(0, 1, layer(3, new float[] {1, 2}, new float[] {3, 4}, 1),
        layer(1, new float[] {5, 6}, new float[] {7, 8}, 1)));
    a.accept(chunk(1, 1, layer(3, new float[] {9, 10}, new float[] {11, 12}, 1),
        layer(1, new float[] {13, 14}, new float[] {15, 16}, 1)));
    Scores.HiddenStates h = (Scores.HiddenStates) a.finish();
    assertEquals(2, h.hidden());
    assertEquals(List.of(3, 1), h.layers().stream().map(Scores.Layer::index).toList());
    assertArrayEquals(new float[] {1, 2, 9, 10}, h.layer(3).input());
    assertArrayEquals(new float[] {15, 16}, java.util.Arrays.copyOfRange(h.layer(1).output(), 2, 4));
    assertEquals(null, h.layer(3).mixerInput());
  }

  @Test
  void assembler_refusesAMissingPointOrAnotherLayerOrder() {
    IllegalStateException missing = assertThrows(IllegalStateException.class,
        () -> new ChunkAssembler(1, 2, REQUEST).accept(chunk(0, 2,
            layer(3, new float[] {1, 2, 3, 4}, null, 2), layer(1, new float[] {1, 2, 3, 4}, null, 2))));
    assertEquals("malformed score stream: layer 3 layer_output is missing", missing.getMessage());
    IllegalStateException order = assertThrows(IllegalStateException.class,
        () -> new ChunkAssembler(1, 2, REQUEST).accept(chunk(0, 2,
            layer(1, new float[] {1, 2, 3, 4}, new float[] {1, 2, 3, 4}, 2),
            layer(3, new float[] {1, 2, 3, 4}, new float[] {1, 2, 3, 4}, 2))));
    assertEquals("malformed score stream: chunk carries layer 1 at place 0, layer 3 was requested there",
        order.getMessage());
  }
}
