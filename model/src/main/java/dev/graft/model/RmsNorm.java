package dev.graft.model;

import ai.djl.ndarray.NDArray;

/** Root-mean-square layer norm: {@code x / sqrt(mean(x²) + eps) * weight}, over the last axis. */
public final class RmsNorm extends Module {

  private final float eps;

  public RmsNorm(NDArray weight, double eps) {
    registerParameter("weight", weight);
    this.eps = (float) eps;
  }

  public NDArray forward(NDArray x) {
    int last = x.getShape().dimension() - 1;
    // sqrt + div rather than pow(-0.5): see Scalars for why no constant may enter a saved tensor.
    NDArray rms = x.square().mean(new int[] {last}, true).add(eps).sqrt(); // (..., 1)
    return x.div(rms).mul(param("weight"));
  }
}
