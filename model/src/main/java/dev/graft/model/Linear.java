package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * A linear layer, {@code y = x Wᵀ + b} as PyTorch's {@code linear(x, w, b)}, with {@code weight} of
 * shape (out, in) and an optional {@code bias} of shape (out). A {@link WeightTransform}, when set,
 * replaces the stored weight by what it computes from it in every forward pass and decode step.
 */
public final class Linear extends Module {

  private WeightTransform transform;

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

  /** The transform applied to the weight, or null when the layer computes with it as stored. */
  public WeightTransform weightTransform() {
    return transform;
  }

  /** Sets (or, with null, removes) the transform applied to the weight in the forward pass. */
  public void setWeightTransform(WeightTransform transform) {
    this.transform = transform;
  }

  /** The weight the layer computes with: the stored one, or its transform under {@code manager}. */
  public NDArray effectiveWeight(NDManager manager) {
    return transform == null ? weight() : transform.apply(weight(), manager);
  }

  public NDArray forward(NDArray x) {
    return x.getNDArrayInternal().linear(x, effectiveWeight(x.getManager()), bias()).singletonOrThrow();
  }
}
