package dev.graft.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Per-token language-modelling losses that return sums, so callers normalise by the true token
 * count. Cross-entropy on data tokens is the baseline without distillation ({@code ce} in {@link
 * Divergence}).
 */
public final class TokenLoss {

  private TokenLoss() {}

  /**
   * {@code -log softmax(logits)[target]} at each position, zero where masked. Targets at masked
   * positions must still be valid ids; they contribute 0 to the loss and its gradient.
   *
   * @param logits (B, T, V) float32
   * @param targets (B, T) int64, each in [0, V)
   * @param mask (B, T) float32, 1 for a real target and 0 for padding
   * @return (B, T)
   * @throws IllegalArgumentException naming the expected and actual shapes and types when they do
   *     not fit (a mismatched mask or targets could otherwise broadcast silently)
   */
  public static NDArray crossEntropyPerPosition(NDArray logits, NDArray targets, NDArray mask) {
    check(logits, targets, mask);
    NDArray logp = logits.logSoftmax(2); // (B, T, V)
    NDArray picked = logp.gather(targets.expandDims(2), 2).squeeze(2); // (B, T)
    return picked.mul(mask).neg();
  }

  /**
   * Sum over unmasked positions of {@code -log softmax(logits)[target]}.
   *
   * @param logits (B, T, V) float32
   * @param targets (B, T) int64, each in [0, V)
   * @param mask (B, T) float32, 1 for a real target and 0 for padding
   * @return a scalar
   * @throws IllegalArgumentException as {@link #crossEntropyPerPosition}
   */
  public static NDArray crossEntropySum(NDArray logits, NDArray targets, NDArray mask) {
    return crossEntropyPerPosition(logits, targets, mask).sum();
  }

  private static void check(NDArray logits, NDArray targets, NDArray mask) {
    Shape s = logits.getShape();
    if (s.dimension() != 3 || logits.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException(
          "logits must be float32 (B, T, V), got " + logits.getDataType() + " " + s);
    }
    Shape bt = new Shape(s.get(0), s.get(1));
    if (!targets.getShape().equals(bt) || targets.getDataType() != DataType.INT64) {
      throw new IllegalArgumentException(
          "targets must be int64 (B, T) = " + bt + ", got " + targets.getDataType() + " "
              + targets.getShape());
    }
    if (!mask.getShape().equals(bt) || mask.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException(
          "mask must be float32 (B, T) = " + bt + ", got " + mask.getDataType() + " "
              + mask.getShape());
    }
  }
}
