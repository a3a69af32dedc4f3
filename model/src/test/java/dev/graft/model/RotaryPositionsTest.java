package dev.graft.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Rotary embedding with a position per row (batched decoding) against the contiguous form. */
class RotaryPositionsTest {

  @Test
  void applyAt_rotatesEachRowAtItsOwnPositions_likeApplyFromThatRowsStart() {
    try (NDManager m = NDManager.newBaseManager()) {
      RotaryEmbedding rope = new RotaryEmbedding(m, 8, 32, 10000.0);
      Random rng = new Random(1);
      float[] values = new float[2 * 3 * 4 * 8];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) rng.nextGaussian();
      }
      NDArray x = m.create(values, new Shape(2, 3, 4, 8)); // (B, heads, T, headDim)
      NDArray positions = m.create(new long[] {5, 6, 7, 8, 20, 21, 22, 23}, new Shape(2, 4));
      NDArray rotated = rope.applyAt(x, positions);
      int[] starts = {5, 20};
      for (int b = 0; b < 2; b++) {
        NDArray row = x.get(new NDIndex("{}:{}", b, b + 1));
        assertArrayEquals(rope.apply(row, starts[b]).toFloatArray(),
            rotated.get(new NDIndex("{}:{}", b, b + 1)).toFloatArray(), 1e-6f, "row " + b);
      }
      assertThrows(IllegalArgumentException.class,
          () -> rope.applyAt(x, m.create(new long[] {1, 2}, new Shape(2, 1))));
    }
  }
}
