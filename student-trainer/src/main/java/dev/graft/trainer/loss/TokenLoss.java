package dev.graft.trainer.loss;

import ai.djl.ndarray.NDArray;

/**
 * Per-token language-modelling losses that return sums, so callers normalise by the true token
 * count. Cross-entropy on data tokens is the baseline without distillation ({@code ce} in {@link
 * Divergence}).
 */
public final class TokenLoss {

  private TokenLoss() {}

  /**
   * {@code -log softmax(logits)[target]} at each position, zero where masked.
   *
   * @param logits (B, T, V)
   * @param targets (B, T) int64
   * @param mask (B, T) float32, 1 for a real target and 0 for padding
   * @return (B, T)
   */
  public static NDArray crossEntropyPerPosition(NDArray logits, NDArray targets, NDArray mask) {
    NDArray logp = logits.logSoftmax(2); // (B, T, V)
    NDArray picked = logp.gather(targets.expandDims(2), 2).squeeze(2); // (B, T)
    return picked.mul(mask).neg();
  }

  /**
   * Sum over unmasked positions of {@code -log softmax(logits)[target]}.
   *
   * @param logits (B, T, V)
   * @param targets (B, T) int64
   * @param mask (B, T) float32, 1 for a real target and 0 for padding
   * @return a scalar
   */
  public static NDArray crossEntropySum(NDArray logits, NDArray targets, NDArray mask) {
    return crossEntropyPerPosition(logits, targets, mask).sum();
  }
}
