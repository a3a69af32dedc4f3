package dev.graft.trainer.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.data.PackedSequences;

/**
 * A batch of language-modelling sequences as host arrays, turned into NDArrays on demand.
 *
 * @param inputs (B·T) token ids
 * @param targets (B·T) next-token ids
 * @param mask (B·T) 1 for a real target, 0 for padding
 */
public record Batch(int batchSize, int seqLen, long[] inputs, long[] targets, float[] mask) {

  /** Gathers sequences {@code indices} of {@code data}. */
  public static Batch of(PackedSequences data, int[] indices) {
    int t = data.seqLen();
    long[] in = new long[indices.length * t];
    long[] tg = new long[indices.length * t];
    float[] m = new float[indices.length * t];
    for (int b = 0; b < indices.length; b++) {
      int[] x = data.inputs(indices[b]);
      int[] y = data.targets(indices[b]);
      int valid = data.validTargets(indices[b]);
      for (int i = 0; i < t; i++) {
        in[b * t + i] = x[i];
        tg[b * t + i] = y[i];
        m[b * t + i] = i < valid ? 1f : 0f;
      }
    }
    return new Batch(indices.length, t, in, tg, m);
  }

  /** Number of real target tokens. */
  public long tokens() {
    long n = 0;
    for (float v : mask) {
      n += v > 0 ? 1 : 0;
    }
    return n;
  }

  public NDArray inputs(NDManager m) {
    return m.create(inputs, new Shape(batchSize, seqLen));
  }

  public NDArray targets(NDManager m) {
    return m.create(targets, new Shape(batchSize, seqLen));
  }

  public NDArray mask(NDManager m) {
    return m.create(mask, new Shape(batchSize, seqLen));
  }

  /** Rows [from, to) as a batch of their own. */
  public Batch slice(int from, int to) {
    int t = seqLen;
    return new Batch(to - from, t,
        java.util.Arrays.copyOfRange(inputs, from * t, to * t),
        java.util.Arrays.copyOfRange(targets, from * t, to * t),
        java.util.Arrays.copyOfRange(mask, from * t, to * t));
  }
}
