package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embedding in Hugging Face's "rotate half" layout: dimension i is paired with
 * i + headDim/2, rotated by angle {@code pos · invFreq[i]}, where {@code invFreq[i]} is
 * {@code theta^(-2i/headDim)} changed by the config's {@link RopeScaling}. The cos/sin tables are
 * buffers, not parameters, built once for {@code maxPositions}.
 */
public final class RotaryEmbedding implements AutoCloseable {

  private final int headDim;
  private final int maxPositions;
  private final NDArray cos; // (maxPositions, headDim)
  private final NDArray sin; // (maxPositions, headDim)

  /** Plain rotary embeddings. */
  public RotaryEmbedding(NDManager manager, int headDim, int maxPositions, double theta) {
    this(manager, headDim, maxPositions, theta, RopeScaling.NONE);
  }

  /**
   * Rotary embeddings for positions [0, maxPositions) with scaled inverse frequencies. Every pass
   * stays within maxPositions, so a dynamic scaling's frequencies are those for that length.
   */
  public RotaryEmbedding(NDManager manager, int headDim, int maxPositions, double theta,
      RopeScaling scaling) {
    this.headDim = headDim;
    this.maxPositions = maxPositions;
    int half = headDim / 2;
    float[] c = new float[maxPositions * headDim];
    float[] s = new float[maxPositions * headDim];
    // float32 inverse frequencies, as Hugging Face computes them.
    float[] inverse = scaling.inverseFrequencies(headDim, theta, maxPositions, maxPositions);
    for (int i = 0; i < half; i++) {
      float invFreq = inverse[i];
      for (int p = 0; p < maxPositions; p++) {
        float angle = (float) p * invFreq;
        c[p * headDim + i] = c[p * headDim + i + half] = (float) Math.cos(angle);
        s[p * headDim + i] = s[p * headDim + i + half] = (float) Math.sin(angle);
      }
    }
    this.cos = manager.create(c, new Shape(maxPositions, headDim));
    this.sin = manager.create(s, new Shape(maxPositions, headDim));
  }

  /** Rotates x of shape (B, heads, T, headDim) whose first token sits at {@code startPos}. */
  public NDArray apply(NDArray x, int startPos) {
    long t = x.getShape().get(2);
    if (startPos < 0 || startPos + t > maxPositions) {
      throw new IllegalArgumentException("positions [" + startPos + ", " + (startPos + t)
          + ") exceed max_position_embeddings (" + maxPositions + ")");
    }
    NDIndex rows = new NDIndex("{}:{}", startPos, startPos + t);
    NDArray c = cos.get(rows); // (T, headDim), broadcast over (B, heads)
    NDArray s = sin.get(rows);
    c.attach(x.getManager()); // slices are per-call views: keep them off the table's manager
    s.attach(x.getManager());
    return x.mul(c).add(rotateHalf(x).mul(s));
  }

  /**
   * Rotates x of shape (B, heads, T, headDim) where token t of row b sits at
   * {@code positions[b, t]}: each row at its own position, as in batched decoding of sequences of
   * different lengths.
   *
   * @param positions (B, T) int64, each in [0, maxPositions)
   */
  public NDArray applyAt(NDArray x, NDArray positions) {
    Shape s = x.getShape();
    if (!positions.getShape().equals(new Shape(s.get(0), s.get(2)))) {
      throw new IllegalArgumentException("positions must have shape (batch, time) = ("
          + s.get(0) + ", " + s.get(2) + "), got " + positions.getShape());
    }
    NDArray c = gather(positions, cos).expandDims(1); // (B, 1, T, headDim), broadcast over heads
    NDArray sn = gather(positions, sin).expandDims(1);
    return x.mul(c).add(rotateHalf(x).mul(sn));
  }

  /** Rows {@code table[positions]}: (B, T) → (B, T, headDim), on the positions' manager. */
  private static NDArray gather(NDArray positions, NDArray table) {
    return positions.getNDArrayInternal()
        .embedding(positions, table, ai.djl.ndarray.types.SparseFormat.DENSE).singletonOrThrow();
  }

  private NDArray rotateHalf(NDArray x) {
    NDList halves = x.split(new long[] {headDim / 2}, 3); // two (B, H, T, headDim/2)
    return NDArrays.concat(new NDList(halves.get(1).neg(), halves.get(0)), 3);
  }

  @Override
  public void close() {
    cos.close();
    sin.close();
  }
}
