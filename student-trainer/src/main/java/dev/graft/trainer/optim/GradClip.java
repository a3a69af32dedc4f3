package dev.graft.trainer.optim;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * Global-norm gradient clipping, as {@code torch.nn.utils.clip_grad_norm_}: when the L2 norm of
 * all gradients together exceeds {@code maxNorm}, every gradient is scaled by maxNorm / norm.
 * (DJL's {@code optClipGrad} is an element-wise upper clamp, which is a different thing.)
 */
public final class GradClip {

  private GradClip() {}

  /**
   * Clips in place and returns the norm before clipping. A non-finite norm is an error: the
   * gradients are left as they are and the caller must not step.
   */
  public static double clipGlobalNorm(Map<String, NDArray> params, double maxNorm) {
    double sumSq = 0;
    String firstBad = null;
    for (var e : params.entrySet()) {
      try (NDArray g = e.getValue().getGradient(); NDArray sq = g.square(); NDArray sum = sq.sum()) {
        double v = sum.getFloat();
        if (!Double.isFinite(v) && firstBad == null) {
          firstBad = e.getKey();
        }
        sumSq += v;
      }
    }
    double norm = Math.sqrt(sumSq);
    if (!Double.isFinite(norm)) {
      throw new IllegalStateException("gradient norm is not finite (" + norm + ", first at "
          + firstBad + "): training diverged");
    }
    if (maxNorm > 0 && norm > maxNorm) {
      float scale = (float) (maxNorm / (norm + 1e-6));
      for (NDArray p : params.values()) {
        try (NDArray g = p.getGradient()) {
          g.muli(scale);
        }
      }
    }
    return norm;
  }
}
