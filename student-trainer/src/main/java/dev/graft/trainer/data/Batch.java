package dev.graft.trainer.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.data.PackedSequences;
import dev.graft.data.TokenBatch;
import java.util.Arrays;

/**
 * A batch of language-modelling sequences: the inputs go to the teacher and into the student as
 * they are ({@link TokenBatch}, one array from the data loader on), the targets and mask into the
 * loss.
 *
 * @param inputs (B, T) token ids
 * @param targets (B, T) next-token ids
 * @param mask (B·T) 1 for a real target, 0 for padding
 */
public record Batch(TokenBatch inputs, TokenBatch targets, float[] mask) {

  public Batch {
    if (inputs.batch() != targets.batch() || inputs.length() != targets.length()
        || mask.length != inputs.ids().length) {
      throw new IllegalArgumentException("a batch needs inputs, targets and mask of one shape, got ("
          + inputs.batch() + ", " + inputs.length() + "), (" + targets.batch() + ", " + targets.length()
          + ") and " + mask.length + " mask values");
    }
  }

  /** Gathers sequences {@code indices} of {@code data}. */
  public static Batch of(PackedSequences data, int[] indices) {
    int t = data.seqLen();
    int[] in = new int[indices.length * t];
    int[] tg = new int[indices.length * t];
    float[] m = new float[indices.length * t];
    for (int b = 0; b < indices.length; b++) {
      int[] window = data.window(indices[b]); // T + 1 tokens
      System.arraycopy(window, 0, in, b * t, t);
      System.arraycopy(window, 1, tg, b * t, t);
      Arrays.fill(m, b * t, b * t + data.validTargets(indices[b]), 1f);
    }
    return new Batch(new TokenBatch(indices.length, t, in), new TokenBatch(indices.length, t, tg), m);
  }

  public int batchSize() {
    return inputs.batch();
  }

  public int seqLen() {
    return inputs.length();
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
    return inputs.toNDArray(m);
  }

  public NDArray targets(NDManager m) {
    return targets.toNDArray(m);
  }

  public NDArray mask(NDManager m) {
    return m.create(mask, new Shape(batchSize(), seqLen()));
  }

  /** Rows [from, to) as a batch of their own; this batch when that is all of it. */
  public Batch slice(int from, int to) {
    if (from == 0 && to == batchSize()) {
      return this;
    }
    int t = seqLen();
    return new Batch(inputs.rows(from, to), targets.rows(from, to),
        Arrays.copyOfRange(mask, from * t, to * t));
  }
}
