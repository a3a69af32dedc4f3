package dev.graft.model;

import ai.djl.ndarray.NDArray;

/** Small tensor utilities shared by the roles. */
public final class Tensors {

  private Tensors() {}

  /**
   * A view of {@code w} (same storage, same autograd identity) owned by {@code manager}. DJL attaches
   * an op's result to its first operand's manager, so ops that start from a long-lived array (a
   * parameter, a rotary table) would otherwise leave their per-step results on the model's manager.
   */
  public static NDArray viewOn(NDArray w, ai.djl.ndarray.NDManager manager) {
    NDArray view = w.reshape(w.getShape());
    view.attach(manager);
    return view;
  }

  /**
   * Overwrites {@code target}'s values with {@code src}'s, in place (the target keeps its identity,
   * manager and gradient flag). Shapes must match. Call with gradient recording off.
   */
  public static void copyInto(NDArray src, NDArray target) {
    if (target == null) {
      throw new IllegalArgumentException("no target tensor for " + src.getName());
    }
    if (!src.getShape().equals(target.getShape())) {
      throw new IllegalArgumentException("tensor '" + target.getName() + "' has shape " + target.getShape()
          + " but the source has " + src.getShape());
    }
    target.muli(0).addi(src);
  }
}
