package dev.graft.teacher;

import dev.graft.proto.v1.ScoreChunk;
import dev.graft.proto.v1.Tensor;
import dev.graft.service.Descriptions;
import dev.graft.service.WireTensors;

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
    return new Scores.Targets(batch, length, values);
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
