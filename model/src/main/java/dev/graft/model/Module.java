package dev.graft.model;

import ai.djl.ndarray.NDArray;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A node of the model tree, like PyTorch's {@code nn.Module}: it owns named parameters and named
 * child modules, so that every parameter has its Hugging Face name
 * ({@code model.layers.0.self_attn.q_proj.weight}) and a child can be swapped for another module
 * with the same role (an attention mixer for a linear-attention one).
 */
public abstract class Module {

  private final Map<String, NDArray> params = new LinkedHashMap<>();
  private final Map<String, NDArray> buffers = new LinkedHashMap<>();
  private final Map<String, Module> children = new LinkedHashMap<>();

  protected final NDArray registerParameter(String name, NDArray value) {
    params.put(name, value);
    return value;
  }

  /**
   * Registers frozen state that is not a parameter (PyTorch's {@code register_buffer}): it is part
   * of {@link #stateDict()} but not of {@link #namedParameters()}, so optimizers never see it.
   */
  protected final NDArray registerBuffer(String name, NDArray value) {
    buffers.put(name, value);
    return value;
  }

  protected final <M extends Module> M registerChild(String name, M child) {
    children.put(name, child);
    return child;
  }

  /** The parameter {@code name} of this module itself (not a descendant), frozen ({@link #freeze}) or not. */
  protected final NDArray param(String name) {
    NDArray p = params.get(name);
    return p != null ? p : buffers.get(name);
  }

  public final Map<String, Module> children() {
    return Collections.unmodifiableMap(children);
  }

  /** Every parameter of the subtree, keyed by its dotted name, in registration order. */
  public final Map<String, NDArray> namedParameters() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    collect("", out);
    return out;
  }

  /**
   * Every parameter and buffer of the subtree by dotted name: everything needed to rebuild the
   * module as it is. Parameters come first within each module, then its buffers, then children.
   */
  public final Map<String, NDArray> stateDict() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    collectState("", out);
    return out;
  }

  private void collect(String prefix, Map<String, NDArray> out) {
    params.forEach((n, p) -> out.put(prefix + n, p));
    children.forEach((n, c) -> c.collect(prefix + n + ".", out));
  }

  private void collectState(String prefix, Map<String, NDArray> out) {
    params.forEach((n, p) -> out.put(prefix + n, p));
    buffers.forEach((n, b) -> out.put(prefix + n, b));
    children.forEach((n, c) -> c.collectState(prefix + n + ".", out));
  }

  /**
   * Replaces the direct child {@code name} by {@code replacement}; the caller owns the old child's
   * parameters. Returns the old child.
   */
  public final Module replaceChild(String name, Module replacement) {
    if (!children.containsKey(name)) {
      throw new IllegalArgumentException("no child module '" + name + "' in " + getClass().getSimpleName()
          + " (children: " + children.keySet() + ")");
    }
    return children.put(name, replacement);
  }

  /**
   * Replaces the parameter at dotted path {@code name} by {@code value} of the same shape; the old
   * array is closed. Modules read their parameters through {@link #param}, so the swap is seen by
   * the next forward pass.
   */
  public final void replaceParameter(String name, NDArray value) {
    int dot = name.indexOf('.');
    if (params.containsKey(name)) {
      NDArray old = params.get(name);
      if (!old.getShape().equals(value.getShape())) {
        throw new IllegalArgumentException("tensor '" + name + "' has shape " + value.getShape()
            + " but the model expects " + old.getShape());
      }
      params.put(name, value);
      if (old != value) {
        old.close();
      }
      return;
    }
    Module child = dot < 0 ? null : childFor(name);
    if (child == null) {
      throw new IllegalArgumentException("no parameter '" + name + "' in " + getClass().getSimpleName());
    }
    child.replaceParameter(name.substring(childPrefixLength(name)), value);
  }

  /**
   * Turns the parameter at dotted path {@code name} into a frozen buffer (same array, same name):
   * it stays in {@link #stateDict()} but leaves {@link #namedParameters()}, so no optimizer
   * updates it and no gradient is attached to it.
   *
   * @throws IllegalArgumentException if there is no such parameter
   */
  public final void freeze(String name) {
    if (params.containsKey(name)) {
      buffers.put(name, params.remove(name));
      return;
    }
    Module child = name.indexOf('.') < 0 ? null : childFor(name);
    if (child == null) {
      throw new IllegalArgumentException("no parameter '" + name + "' in " + getClass().getSimpleName());
    }
    child.freeze(name.substring(childPrefixLength(name)));
  }

  private Module childFor(String dotted) {
    for (var e : children.entrySet()) {
      if (dotted.startsWith(e.getKey() + ".")) {
        return e.getValue();
      }
    }
    return null;
  }

  private int childPrefixLength(String dotted) {
    for (String n : children.keySet()) {
      if (dotted.startsWith(n + ".")) {
        return n.length() + 1;
      }
    }
    throw new IllegalStateException(dotted);
  }
}
