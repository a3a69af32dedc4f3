package dev.graft.model;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What incremental decoding keeps between calls for a fixed number of independent sequences
 * ("slots"): one {@link LayerCache} per layer, of the kind its mixer defines, and each slot's
 * length. Slots advance independently, each at its own position. Arrays live under the state's
 * own manager, so they outlive each call's scope; close the state to free them, before the model.
 * Not thread-safe: one thread decodes.
 */
public final class DecodeState implements AutoCloseable {

  private final NDManager manager;
  private final List<LayerCache> caches;
  private final int context;
  private final int[] lengths;

  DecodeState(List<Mixer> mixers, int slots, int context, NDManager parent) {
    if (slots < 1 || context < 1) {
      throw new IllegalArgumentException("a decode state needs slots (" + slots + ") and context ("
          + context + ") >= 1");
    }
    this.manager = parent.newSubManager();
    this.context = context;
    this.lengths = new int[slots];
    List<LayerCache> c = new ArrayList<>();
    try {
      for (Mixer mixer : mixers) {
        c.add(mixer.newCache(slots, context, manager));
      }
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
    this.caches = List.copyOf(c);
  }

  public int slots() {
    return lengths.length;
  }

  /** Positions per slot. */
  public int context() {
    return context;
  }

  /** Tokens decoded in {@code slot} so far; its next token goes at this position. */
  public int length(int slot) {
    return lengths[checkSlot(slot)];
  }

  /** Empties {@code slot} for a new sequence. */
  public void reset(int slot) {
    lengths[checkSlot(slot)] = 0;
  }

  /** Layer {@code layer}'s cache. */
  public LayerCache cache(int layer) {
    return caches.get(layer);
  }

  /** Bytes every layer holds for one full slot. */
  public long bytesPerSlot() {
    return caches.stream().mapToLong(LayerCache::bytesPerSlot).sum();
  }

  /**
   * Describes a call in which row b continues {@code slots[b]} with {@code lengths[b]} of its
   * {@code tokens} tokens.
   *
   * @throws IllegalArgumentException for no rows, a slot out of range or repeated, a length
   *     outside [1, tokens], or a slot that would pass the context
   */
  DecodeStep begin(int[] slots, int[] lengths, int tokens, NDManager callManager) {
    if (slots.length == 0 || slots.length != lengths.length) {
      throw new IllegalArgumentException("a decode call needs at least one row and one length per row, got "
          + slots.length + " slots and " + lengths.length + " lengths");
    }
    boolean[] seen = new boolean[this.lengths.length];
    int[] starts = new int[slots.length];
    for (int b = 0; b < slots.length; b++) {
      int s = checkSlot(slots[b]);
      if (seen[s]) {
        throw new IllegalArgumentException("slot " + s + " appears twice in one decode call");
      }
      seen[s] = true;
      if (lengths[b] < 1 || lengths[b] > tokens) {
        throw new IllegalArgumentException("row " + b + " has length " + lengths[b]
            + " but must have 1.." + tokens + " real tokens");
      }
      starts[b] = this.lengths[s];
      if (starts[b] + lengths[b] > context) {
        throw new IllegalArgumentException("slot " + s + " holds " + starts[b] + " tokens; "
            + lengths[b] + " more exceed its context of " + context);
      }
    }
    return new DecodeStep(slots.clone(), starts, lengths.clone(), tokens, this.lengths.length, context,
        callManager);
  }

  /** Records the step's tokens as decoded. */
  void commit(DecodeStep step) {
    for (int b = 0; b < step.rows(); b++) {
      lengths[step.slot(b)] = step.start(b) + step.length(b);
    }
  }

  private int checkSlot(int slot) {
    if (slot < 0 || slot >= lengths.length) {
      throw new IllegalArgumentException("slot " + slot + " is not in [0, " + lengths.length + ")");
    }
    return slot;
  }

  @Override
  public void close() {
    manager.close();
  }

  @Override
  public String toString() {
    return "DecodeState{slots=" + lengths.length + ", context=" + context + ", lengths="
        + Arrays.toString(lengths) + "}";
  }
}
