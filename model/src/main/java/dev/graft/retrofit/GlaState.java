package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.DecodeStep;
import dev.graft.model.LayerCache;
import java.util.Arrays;

/**
 * A gated-linear-attention layer's {@link LayerCache}: per slot one state of H × N × hd numbers
 * (whatever the sequence's length) and how many tokens it has absorbed. A recurrent state cannot
 * rewind: a step continues its slot at the slot's length, or starts a new sequence at position 0.
 */
final class GlaState implements LayerCache {

  private final int heads;
  private final int stateSize;
  private final int headDim;
  private final NDArray states; // (slots, H, N, hd)
  private final int[] lengths; // slot → tokens absorbed

  GlaState(int slots, int heads, int stateSize, int headDim, NDManager manager) {
    this.heads = heads;
    this.stateSize = stateSize;
    this.headDim = headDim;
    this.states = manager.zeros(new Shape(slots, heads, stateSize, headDim));
    this.lengths = new int[slots];
  }

  @Override
  public long bytesPerSlot() {
    return (long) heads * stateSize * headDim * Float.BYTES;
  }

  /**
   * The state before each row's first token, (B, H, N, hd): zeros for a row that starts a
   * sequence, else its slot's state.
   *
   * @throws IllegalStateException for a row that neither starts at 0 nor continues its slot
   */
  NDArray read(DecodeStep step) {
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
    NDArray rows = states.get(m, new NDIndex("{}", m.create(slots))); // (B, H, N, hd)
    return rows.mul(m.create(keep, new Shape(b, 1, 1, 1)));
  }

  /** Stores each row's state after its last real token, (B, H, N, hd). */
  void write(DecodeStep step, NDArray after) {
    long[] slots = new long[step.rows()];
    for (int r = 0; r < step.rows(); r++) {
      slots[r] = step.slot(r);
      lengths[step.slot(r)] = step.start(r) + step.length(r);
    }
    states.set(new NDIndex("{}", step.manager().create(slots)), after);
  }

  @Override
  public String toString() {
    return "GlaState{lengths=" + Arrays.toString(lengths) + "}";
  }
}
