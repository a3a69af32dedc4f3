package dev.graft.model;

import ai.djl.ndarray.NDArray;

/** A bias-free linear layer, {@code y = x Wᵀ}, with {@code weight} of shape (out, in) as in PyTorch. */
public final class Linear extends Module {

  public Linear(NDArray weight) {
    registerParameter("weight", weight);
  }

  public NDArray weight() {
    return param("weight");
  }

  public NDArray forward(NDArray x) {
    return x.getNDArrayInternal().linear(x, weight(), null).singletonOrThrow();
  }
}
