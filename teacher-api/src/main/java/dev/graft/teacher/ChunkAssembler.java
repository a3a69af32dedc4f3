package dev.graft.teacher;

import dev.graft.proto.v1.LayerHiddenStates;
import dev.graft.proto.v1.ScoreChunk;
import dev.graft.proto.v1.Tensor;
import dev.graft.service.Descriptions;
import dev.graft.service.WireTensors;
import java.util.ArrayList;
import java.util.List;

/**
 * Rebuilds {@link Scores} from the {@link ScoreChunk} stream of one request, checking that the
 * chunks have the requested kind and shape and cover every position exactly once, in order.
 * A violation throws {@link IllegalStateException} naming it.
 */
public final class ChunkAssembler {

  private final int batch;
  private final int length;
  private final int positions;
  private final ScoreRequest request;
  private int next;
  private int width = -1; // values per position: k, V or 1
  private int[] ids;
  private float[] values;
  private float[] tail;
  private float[][][] hidden; // [layer][point: input, mixer input, output, mixer output] (B·T·D), null if not asked

  /** Expects the answer to {@code request} over {@code batch} rows of {@code length} tokens. */
  public ChunkAssembler(int batch, int length, ScoreRequest request) {
    this.batch = batch;
    this.length = length;
    this.positions = batch * length;
    this.request = request;
  }

  /** Adds the next chunk. */
  public void accept(ScoreChunk chunk) {
    if (chunk.getBatch() != batch || chunk.getLength() != length) {
      fail("chunk for a (" + chunk.getBatch() + ", " + chunk.getLength() + ") request, expected ("
          + batch + ", " + length + ")");
    }
    if (chunk.getPositionStart() != next || chunk.getPositionCount() < 1
        || next + (long) chunk.getPositionCount() > positions) {
      fail("chunk covers positions [" + chunk.getPositionStart() + ", +" + chunk.getPositionCount()
          + ") but " + next + " of " + positions + " were expected next");
    }
    int count = chunk.getPositionCount();
    if (request instanceof ScoreRequest.TopK topK && chunk.hasTopK()) {
      allocate(topK.k());
      copy(WireTensors.decodeIds(chunk.getTopK().getIds(), "top-k ids"), ids, count);
      copy(values(chunk.getTopK().getLogProbs(), "top-k log-probs"), values, count);
      System.arraycopy(values(chunk.getTopK().getLogTail(), "log tail"), 0, tail, next, checkLen(
          chunk.getTopK().getLogTail(), count));
    } else if (request instanceof ScoreRequest.Full && chunk.hasFull()) {
      Tensor lp = chunk.getFull().getLogProbs();
      if (lp.getShapeCount() != 2 || lp.getShape(0) != count) {
        fail("full log-probs have shape " + Descriptions.list(lp.getShapeList()) + " for " + count
            + " positions");
      }
      allocate((int) lp.getShape(1));
      into(lp, "full log-probs", count); // the largest answer: decoded in place, no copy
    } else if (request instanceof ScoreRequest.Targets && chunk.hasTargets()) {
      allocate(1);
      copy(values(chunk.getTargets().getLogProbs(), "target log-probs"), values, count);
    } else if (request instanceof ScoreRequest.HiddenStates h && chunk.hasHiddenStates()) {
      acceptHidden(h, chunk.getHiddenStates().getLayersList(), count);
    } else {
      fail("chunk payload " + chunk.getPayloadCase() + " does not answer a "
          + request.getClass().getSimpleName() + " request");
    }
    next += count;
  }

  /** The assembled scores; every position must have arrived. */
  public Scores finish() {
    if (next != positions) {
      fail("stream ended after " + next + " of " + positions + " positions");
    }
    if (request instanceof ScoreRequest.TopK) {
      return new Scores.TopK(batch, length, width, ids, values, tail);
    }
    if (request instanceof ScoreRequest.Full) {
      return new Scores.Full(batch, length, width, values);
    }
    if (request instanceof ScoreRequest.HiddenStates h) {
      List<Scores.Layer> layers = new ArrayList<>(h.layers().size());
      for (int i = 0; i < h.layers().size(); i++) {
        layers.add(new Scores.Layer(h.layers().get(i), hidden[i][0], hidden[i][1], hidden[i][2],
            hidden[i][3]));
      }
      return new Scores.HiddenStates(batch, length, width, layers);
    }
    return new Scores.Targets(batch, length, values);
  }

  /** One chunk of hidden states: the requested layers in order, each with exactly the asked points. */
  private void acceptHidden(ScoreRequest.HiddenStates h, List<LayerHiddenStates> layers, int count) {
    if (layers.size() != h.layers().size()) {
      fail("chunk carries " + layers.size() + " layers, " + h.layers().size() + " were requested");
    }
    boolean[] asked = {h.layerInput(), h.mixerInput(), h.layerOutput(), h.mixerOutput()};
    String[] names = {"layer_input", "mixer_input", "layer_output", "mixer_output"};
    for (int i = 0; i < layers.size(); i++) {
      LayerHiddenStates l = layers.get(i);
      if (l.getLayer() != h.layers().get(i)) {
        fail("chunk carries layer " + Integer.toUnsignedString(l.getLayer()) + " at place " + i
            + ", layer " + h.layers().get(i) + " was requested there");
      }
      Tensor[] tensors = {l.hasLayerInput() ? l.getLayerInput() : null,
          l.hasMixerInput() ? l.getMixerInput() : null,
          l.hasLayerOutput() ? l.getLayerOutput() : null,
          l.hasMixerOutput() ? l.getMixerOutput() : null};
      for (int p = 0; p < asked.length; p++) {
        if ((tensors[p] != null) != asked[p]) {
          fail("layer " + l.getLayer() + " " + names[p] + " is " + (asked[p] ? "missing" : "not requested"));
        }
        if (tensors[p] == null) {
          continue;
        }
        Tensor t = tensors[p];
        if (t.getShapeCount() != 2 || t.getShape(0) != count || t.getShape(1) < 1
            || t.getShape(1) > Integer.MAX_VALUE / positions) {
          fail("layer " + l.getLayer() + " " + names[p] + " has shape "
              + Descriptions.list(t.getShapeList()) + " for " + count + " positions");
        }
        if (hidden == null) {
          width = (int) t.getShape(1);
          hidden = new float[layers.size()][asked.length][];
        } else if (t.getShape(1) != width) {
          fail("chunks disagree on the hidden size: " + width + " then " + t.getShape(1));
        }
        if (hidden[i][p] == null) {
          hidden[i][p] = new float[positions * width];
        }
        WireTensors.decodeValuesInto(t, "layer " + l.getLayer() + " " + names[p], hidden[i][p],
            next * width);
      }
    }
  }

  private void allocate(int w) {
    if (width == -1) {
      width = w;
      values = new float[positions * w];
      if (request instanceof ScoreRequest.TopK) {
        ids = new int[positions * w];
        tail = new float[positions];
      }
    } else if (width != w) {
      fail("chunks disagree on the values per position: " + width + " then " + w);
    }
  }

  private float[] values(Tensor t, String what) {
    return WireTensors.decodeValues(t, what);
  }

  /** Decodes a chunk's values straight into place: the full distribution is most of the bytes. */
  private void into(Tensor t, String what, int count) {
    long n = t.getShapeList().stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b);
    if (n != (long) count * width) {
      fail(n + " values for " + count + " positions of width " + width);
    }
    WireTensors.decodeValuesInto(t, what, values, next * width);
  }

  private void copy(int[] src, int[] dst, int count) {
    if (src.length != count * width) {
      fail(src.length + " ids for " + count + " positions of width " + width);
    }
    System.arraycopy(src, 0, dst, next * width, src.length);
  }

  private void copy(float[] src, float[] dst, int count) {
    if (src.length != count * width) {
      fail(src.length + " values for " + count + " positions of width " + width);
    }
    System.arraycopy(src, 0, dst, next * width, src.length);
  }

  private int checkLen(Tensor t, int count) {
    long n = t.getShapeList().stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b);
    if (n != count) {
      fail("log tail holds " + n + " values for " + count + " positions");
    }
    return count;
  }

  private static void fail(String message) {
    throw new IllegalStateException("malformed score stream: " + message);
  }
}
