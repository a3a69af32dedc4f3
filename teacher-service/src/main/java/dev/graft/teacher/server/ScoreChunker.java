package dev.graft.teacher.server;

import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.FullChunk;
import dev.graft.proto.v1.HiddenStatesChunk;
import dev.graft.proto.v1.LayerHiddenStates;
import dev.graft.proto.v1.ScoreChunk;
import dev.graft.proto.v1.TargetsChunk;
import dev.graft.proto.v1.TopKChunk;
import dev.graft.service.WireTensors;
import dev.graft.teacher.Scores;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Cuts {@link Scores} into {@link ScoreChunk} messages over consecutive position ranges, each
 * serialized under a byte budget (unless one position alone is larger). Chunks are built one at
 * a time as they are asked for, so a slow reader holds at most one encoded chunk here.
 */
public final class ScoreChunker implements Iterator<ScoreChunk> {

  /** Upper bound on a chunk's bytes besides the tensor data and the fingerprint: tags, lengths, shapes. */
  static final int OVERHEAD_BYTES = 256;

  /** Upper bound on the bytes one hidden-state tensor adds besides its data: tags, lengths, shape, layer. */
  static final int HIDDEN_TENSOR_OVERHEAD_BYTES = 48;

  private final Scores scores;
  private final DType valueType;
  private final DType idType;
  private final int vocab;
  private final int total;
  private final String modelFingerprint;
  private final int perChunk;
  private int next;

  /**
   * @param valueType FLOAT32, FLOAT16 or BFLOAT16 for log-probs
   * @param vocab the teacher's vocabulary size (sets the id dtype and the full row length)
   * @param budgetBytes the most bytes one serialized chunk may take
   * @param modelFingerprint the fingerprint of the model that computed {@code scores}, carried
   *     by every chunk
   */
  public ScoreChunker(Scores scores, DType valueType, int vocab, int budgetBytes, String modelFingerprint) {
    WireTensors.size(valueType); // rejects an unsupported dtype early
    this.scores = scores;
    this.valueType = valueType;
    this.idType = WireTensors.idType(vocab);
    this.vocab = vocab;
    this.modelFingerprint = modelFingerprint;
    this.total = scores.batch() * scores.length();
    long perPosition = bytesPerPosition(scores, valueType, vocab);
    long room = budgetBytes - OVERHEAD_BYTES - modelFingerprint.length();
    if (scores instanceof Scores.HiddenStates h) {
      room -= (long) HIDDEN_TENSOR_OVERHEAD_BYTES * tensors(h);
    }
    this.perChunk = (int) Math.max(1, Math.min(total, room / perPosition));
  }

  /** Payload bytes of one position: ids plus values. */
  static long bytesPerPosition(Scores scores, DType valueType, int vocab) {
    int v = WireTensors.size(valueType);
    if (scores instanceof Scores.TopK t) {
      return (long) t.k() * (WireTensors.size(WireTensors.idType(vocab)) + v) + v;
    }
    if (scores instanceof Scores.Full) {
      return (long) vocab * v;
    }
    if (scores instanceof Scores.HiddenStates h) {
      return tensors(h) * h.hidden() * v;
    }
    return v;
  }

  /** Tensors of one hidden-states chunk: the asked points of every layer. */
  private static long tensors(Scores.HiddenStates h) {
    return h.layers().stream().mapToLong(l -> (l.input() != null ? 1 : 0) + (l.mixerInput() != null ? 1 : 0)
        + (l.output() != null ? 1 : 0) + (l.mixerOutput() != null ? 1 : 0)).sum();
  }

  /** Positions carried by every chunk but possibly the last. */
  public int positionsPerChunk() {
    return perChunk;
  }

  @Override
  public boolean hasNext() {
    return next < total;
  }

  @Override
  public ScoreChunk next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    int start = next;
    int count = Math.min(perChunk, total - start);
    next += count;
    ScoreChunk.Builder b = ScoreChunk.newBuilder().setBatch(scores.batch())
        .setLength(scores.length()).setPositionStart(start).setPositionCount(count)
        .setModelFingerprint(modelFingerprint);
    if (scores instanceof Scores.TopK t) {
      int k = t.k();
      b.setTopK(TopKChunk.newBuilder()
          .setIds(WireTensors.ids(t.ids(), start * k, count * k, idType, count, k))
          .setLogProbs(WireTensors.values(t.logProbs(), start * k, count * k, valueType, count, k))
          .setLogTail(WireTensors.values(t.logTail(), start, count, valueType, count)));
    } else if (scores instanceof Scores.Full f) {
      b.setFull(FullChunk.newBuilder().setLogProbs(WireTensors.values(
          f.logProbs(), start * vocab, count * vocab, valueType, count, vocab)));
    } else if (scores instanceof Scores.HiddenStates h) {
      b.setHiddenStates(hiddenChunk(h, start, count));
    } else {
      Scores.Targets t = (Scores.Targets) scores;
      b.setTargets(TargetsChunk.newBuilder().setLogProbs(
          WireTensors.values(t.logProbs(), start, count, valueType, count)));
    }
    return b.build();
  }

  private HiddenStatesChunk hiddenChunk(Scores.HiddenStates h, int start, int count) {
    int d = h.hidden();
    HiddenStatesChunk.Builder chunk = HiddenStatesChunk.newBuilder();
    for (Scores.Layer l : h.layers()) {
      LayerHiddenStates.Builder lb = LayerHiddenStates.newBuilder().setLayer(l.index());
      if (l.input() != null) {
        lb.setLayerInput(WireTensors.values(l.input(), start * d, count * d, valueType, count, d));
      }
      if (l.mixerInput() != null) {
        lb.setMixerInput(WireTensors.values(l.mixerInput(), start * d, count * d, valueType, count, d));
      }
      if (l.output() != null) {
        lb.setLayerOutput(WireTensors.values(l.output(), start * d, count * d, valueType, count, d));
      }
      if (l.mixerOutput() != null) {
        lb.setMixerOutput(WireTensors.values(l.mixerOutput(), start * d, count * d, valueType, count, d));
      }
      chunk.addLayers(lb);
    }
    return chunk.build();
  }
}
