package dev.graft.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * B sequences of T token ids, row-major in one {@code int[]}: the one form token ids take from
 * the data loader to the wire and into the model. The array is shared, not copied; treat it as
 * immutable. Equality is identity, as for any array.
 *
 * @param batch rows (B)
 * @param length ids per row (T)
 * @param ids B·T ids, row after row
 */
public record TokenBatch(int batch, int length, int[] ids) {

  public TokenBatch {
    if (batch < 0 || length < 0 || ids == null || (long) batch * length != ids.length) {
      throw new IllegalArgumentException("a token batch of " + batch + " rows of " + length
          + " ids needs " + ((long) batch * length) + " ids, got " + (ids == null ? "none" : ids.length));
    }
  }

  /**
   * Copies equal-length rows into a batch.
   *
   * @throws IllegalArgumentException for rows of different lengths, naming the first that differs
   */
  public static TokenBatch of(int[][] rows) {
    int t = rows.length == 0 ? 0 : rows[0].length;
    int[] flat = new int[rows.length * t];
    for (int r = 0; r < rows.length; r++) {
      if (rows[r].length != t) {
        throw new IllegalArgumentException("row " + r + " has " + rows[r].length
            + " tokens but row 0 has " + t + "; all rows must have the same length");
      }
      System.arraycopy(rows[r], 0, flat, r * t, t);
    }
    return new TokenBatch(rows.length, t, flat);
  }

  /** The id at {@code pos} of {@code row}. */
  public int get(int row, int pos) {
    return ids[row * length + pos];
  }

  /** A copy of one row. */
  public int[] row(int row) {
    return Arrays.copyOfRange(ids, row * length, (row + 1) * length);
  }

  /** Rows [from, to) as a batch of their own: this batch when that is all of it, else a copy. */
  public TokenBatch rows(int from, int to) {
    if (from == 0 && to == batch) {
      return this;
    }
    return new TokenBatch(to - from, length, Arrays.copyOfRange(ids, from * length, to * length));
  }

  /** The batch as a (B, T) int64 array on {@code manager}, as the model takes ids. */
  public NDArray toNDArray(NDManager manager) {
    long[] wide = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      wide[i] = ids[i];
    }
    return manager.create(wide, new Shape(batch, length));
  }
}
