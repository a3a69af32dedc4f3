package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.List;

/**
 * State carried between incremental decoding steps: one {@link Slot} per layer, whose content the
 * layer's mixer defines (keys and values for attention). Arrays stored in a slot move to the
 * cache's own manager, so they outlive the per-step scope that created them.
 */
public final class DecodeCache implements AutoCloseable {

  private final NDManager manager;
  private final List<Slot> slots = new ArrayList<>();
  private int length;

  public DecodeCache(NDManager parent, int layers) {
    this.manager = parent.newSubManager();
    for (int i = 0; i < layers; i++) {
      slots.add(new Slot());
    }
  }

  public Slot slot(int layer) {
    return slots.get(layer);
  }

  /** Tokens already processed; the next forward pass starts at this position. */
  public int length() {
    return length;
  }

  void advance(int tokens) {
    length += tokens;
  }

  @Override
  public void close() {
    manager.close();
  }

  /** One layer's state. */
  public final class Slot {
    private NDArray[] arrays = new NDArray[0];

    public NDArray[] get() {
      return arrays;
    }

    /** Replaces the state; the previous arrays are freed. */
    public void set(NDArray... next) {
      for (NDArray a : next) {
        NDScope.unregister(a);
        a.attach(manager);
      }
      for (NDArray old : arrays) {
        old.close();
      }
      arrays = next;
    }
  }
}
