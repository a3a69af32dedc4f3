package dev.graft.data;

/**
 * Walks the sequences of a {@link PackedSequences} in a shuffled order that is a pure function of
 * {@code (size, seed, epoch)}: every epoch visits each sequence once, in its own permutation.
 *
 * <p>{@link #position()} names the next sequence to be returned; a cursor created from a saved
 * position returns exactly the sequences the original cursor would have returned next, so a
 * training run resumes where it stopped. A cursor is mutable and not thread-safe.
 */
public final class SequenceCursor {

  /**
   * A place in the endless, epoch after epoch walk over the sequences.
   *
   * @param epoch zero-based epoch, non-negative
   * @param index number of sequences of this epoch already returned, non-negative
   */
  public record Position(int epoch, int index) {

    /** The start of the first epoch. */
    public static final Position START = new Position(0, 0);

    public Position {
      if (epoch < 0 || index < 0) {
        throw new IllegalArgumentException(
            "position (epoch " + epoch + ", index " + index + ") must be non-negative");
      }
    }
  }

  private final int size;
  private final long seed;
  private int epoch;
  private int index;
  private int[] order;

  /**
   * @param size number of sequences, at least 1
   * @param start where to begin; an index of {@code size} means the start of the next epoch
   * @throws IllegalArgumentException if {@code start.index()} exceeds {@code size}
   */
  public SequenceCursor(int size, long seed, Position start) {
    if (size < 1) {
      throw new IllegalArgumentException("cannot walk " + size + " sequences; need at least 1");
    }
    if (start.index() > size) {
      throw new IllegalArgumentException(
          "position index " + start.index() + " is beyond the " + size + " sequences of an epoch;"
              + " was the position saved for a different corpus or seqLen?");
    }
    this.size = size;
    this.seed = seed;
    this.epoch = start.epoch();
    this.index = start.index();
    this.order = order(size, seed, epoch);
  }

  /** A cursor over {@code sequences} from {@code start}. */
  public static SequenceCursor over(PackedSequences sequences, long seed, Position start) {
    return new SequenceCursor(sequences.size(), seed, start);
  }

  /** The visiting order of one epoch: a permutation of {@code 0..size-1}. */
  public static int[] order(int size, long seed, int epoch) {
    return StableHash.permutation(size, seed, epoch);
  }

  /** Returns the index of the next sequence and advances, moving to the next epoch at its end. */
  public int next() {
    if (index == size) {
      epoch++;
      index = 0;
      order = order(size, seed, epoch);
    }
    return order[index++];
  }

  /** Returns the next {@code count} sequence indices (a batch), crossing epochs if needed. */
  public int[] next(int count) {
    if (count < 1) {
      throw new IllegalArgumentException("batch size (" + count + ") must be at least 1");
    }
    int[] batch = new int[count];
    for (int i = 0; i < count; i++) {
      batch[i] = next();
    }
    return batch;
  }

  /** The position of the sequence {@link #next()} returns next; save it to resume. */
  public Position position() {
    return index == size ? new Position(epoch + 1, 0) : new Position(epoch, index);
  }
}
