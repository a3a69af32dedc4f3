package dev.graft.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SequenceCursorTest {

  @Test
  void order_everyEpoch_isAPermutationThatDependsOnSeedAndEpoch() {
    int[] epoch0 = SequenceCursor.order(50, 42, 0);
    int[] sorted = epoch0.clone();
    Arrays.sort(sorted);
    assertArrayEquals(IntStream.range(0, 50).toArray(), sorted);
    assertArrayEquals(epoch0, SequenceCursor.order(50, 42, 0));
    assertFalse(Arrays.equals(epoch0, SequenceCursor.order(50, 42, 1)));
    assertFalse(Arrays.equals(epoch0, SequenceCursor.order(50, 43, 0)));
    assertFalse(Arrays.equals(epoch0, IntStream.range(0, 50).toArray()));
  }

  @Test
  void next_acrossEpochBoundary_followsTheEpochOrders() {
    SequenceCursor cursor = new SequenceCursor(5, 9, SequenceCursor.Position.START);
    int[] expected =
        IntStream.concat(
                Arrays.stream(SequenceCursor.order(5, 9, 0)),
                Arrays.stream(SequenceCursor.order(5, 9, 1)).limit(2))
            .toArray();
    assertArrayEquals(expected, cursor.next(7));
    assertEquals(new SequenceCursor.Position(1, 2), cursor.position());
  }

  @Test
  void resume_fromSavedPosition_continuesExactlyWhereItStopped() {
    SequenceCursor uninterrupted = new SequenceCursor(7, 3, SequenceCursor.Position.START);
    int[] all = uninterrupted.next(20);

    SequenceCursor first = new SequenceCursor(7, 3, SequenceCursor.Position.START);
    int[] before = first.next(7);
    SequenceCursor.Position saved = first.position();
    int[] after = new SequenceCursor(7, 3, saved).next(13);

    assertEquals(new SequenceCursor.Position(1, 0), saved);
    assertArrayEquals(all, IntStream.concat(Arrays.stream(before), Arrays.stream(after)).toArray());
  }

  @Test
  void constructor_positionBeyondEpoch_isRejected() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new SequenceCursor(4, 1, new SequenceCursor.Position(0, 5)));
    assertThrows(IllegalArgumentException.class, () -> new SequenceCursor.Position(-1, 0));
    assertThrows(
        IllegalArgumentException.class,
        () -> new SequenceCursor(0, 1, SequenceCursor.Position.START));
  }
}
