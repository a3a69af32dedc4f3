package dev.graft.model;

import ai.djl.ndarray.NDArray;

/**
 * A linear layer, {@code y = x Wᵀ + b} as PyTorch's {@code linear(x, w, b)}, with {@code weight} of
 * shape (out, in) and an optional {@code bias} of shape (out).
 */
public final class Linear extends Module {

  /** A bias-free layer. */
  public Linear(NDArray weight) {
    this(weight, null);
  }

  /** @param bias (out), or null for none */
  public Linear(NDArray weight, NDArray bias) {
    registerParameter("weight", weight);
    if (bias != null) {
      registerParameter("bias", bias);
    }
  }

  public NDArray weight() {
    return param("weight");
  }

  /** The bias, or null when the layer has none. */
  public NDArray bias() {
    return param("bias");
  }

  public NDArray forward(NDArray x) {
    return x.getNDArrayInternal().linear(x, weight(), bias()).singletonOrThrow();
  }
}
