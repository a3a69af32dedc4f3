package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.DecodeStep;
import dev.graft.model.LayerCache;
import java.util.Arrays;

/**
 * A gated-linear-attention layer's {@link LayerCache}: per slot and head a state of rows × hd
 * numbers and one decay mass (whatever the sequence's length), and how many tokens the slot has
 * absorbed. A recurrent state cannot
 * rewind: a step continues its slot at the slot's length, or starts a new sequence at position 0.
 */
final class GlaState implements LayerCache {

  private final int heads;
  private final int stateSize; // rows of each head's state
  private final int headDim;
  private final NDArray states; // (slots, H, rows, hd)
  private final NDArray masses; // (slots, H, 1, 1)
  private final int[] lengths; // slot → tokens absorbed

  GlaState(int slots, int heads, int rows, int headDim, NDManager manager) {
    this.heads = heads;
    this.stateSize = rows;
    this.headDim = headDim;
    this.states = manager.zeros(new Shape(slots, heads, rows, headDim));
    this.masses = manager.zeros(new Shape(slots, heads, 1, 1));
    this.lengths = new int[slots];
  }

  @Override
  public long bytesPerSlot() {
    return (long) heads * (stateSize * headDim + 1) * Float.BYTES;
  }

  /**
   * The state (B, H, rows, hd) and mass (B, H, 1, 1) before each row's first token: zeros for a
   * row that starts a sequence, else its slot's.
   *
   * @throws IllegalStateException for a row that neither starts at 0 nor continues its slot
   */
  NDArray[] read(DecodeStep step) {
    int b = step.rows();
    long[] slots = new long[b];
    float[] keep = new float[b];
    for (int r = 0; r < b; r++) {
      int slot = step.slot(r);
      int start = step.start(r);
      if (start != 0 && start != lengths[slot]) {
        throw new IllegalStateException("slot " + slot + " holds the recurrent state of " + lengths[slot]
            + " tokens; a step can continue it at position " + lengths[slot] + " or start a new sequence at 0,"
            + " not at " + start);
      }
      slots[r] = slot;
      keep[r] = start == 0 ? 0 : 1;
    }
    NDManager m = step.manager();
    NDIndex at = new NDIndex("{}", m.create(slots));
    NDArray fresh = m.create(keep, new Shape(b, 1, 1, 1));
    return new NDArray[] {states.get(m, at).mul(fresh), masses.get(m, at).mul(fresh)};
  }

  /** Stores each row's state (B, H, rows, hd) and mass (B, H, 1, 1) after its last real token. */
  void write(DecodeStep step, NDArray after, NDArray mass) {
    long[] slots = new long[step.rows()];
    for (int r = 0; r < step.rows(); r++) {
      slots[r] = step.slot(r);
      lengths[step.slot(r)] = step.start(r) + step.length(r);
    }
    NDIndex at = new NDIndex("{}", step.manager().create(slots));
    states.set(at, after);
    masses.set(at, mass);
  }

  @Override
  public String toString() {
    return "GlaState{lengths=" + Arrays.toString(lengths) + "}";
  }
}
