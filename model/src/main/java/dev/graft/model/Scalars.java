package dev.graft.model;

import ai.djl.ndarray.NDArray;

/**
 * Arithmetic with a constant, safe under autograd.
 *
 * <p>DJL's {@code x.mul(Number)}, {@code div(Number)} and {@code pow(Number)} wrap the constant in a
 * tensor backed by a Java direct buffer and close it right after the op. Autograd keeps that tensor
 * for the backward pass (the gradient of {@code x·c} needs {@code c}), so once the garbage
 * collector frees the buffer, backward reads freed memory: sporadic NaN gradients. Here the
 * constant is created on {@code x}'s manager and lives until that manager closes, which in
 * training is after the backward pass.
 */
public final class Scalars {

  private Scalars() {}

  public static NDArray mul(NDArray x, float c) {
    return x.mul(x.getManager().create(c));
  }

  public static NDArray div(NDArray x, float c) {
    return x.div(x.getManager().create(c));
  }
}
