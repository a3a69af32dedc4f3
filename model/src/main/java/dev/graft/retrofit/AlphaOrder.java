package dev.graft.retrofit;

import java.util.Arrays;
import java.util.Locale;

/**
 * The order in which a retrofit's units move from α = 0 to 1: {@code forward} (0..n-1),
 * {@code reverse} (n-1..0) or an explicit list such as {@code 3,1,0,2}. Parsed once from its
 * config spelling; {@link #resolve} fits it to a retrofit's number of units.
 */
public sealed interface AlphaOrder {

  /** The unit indices in moving order, for a retrofit of {@code units} units. */
  int[] resolve(int units);

  /**
   * @throws IllegalArgumentException for anything but forward, reverse or a comma-separated list
   *     of integers
   */
  static AlphaOrder parse(String text) {
    switch (text.trim().toLowerCase(Locale.ROOT)) {
      case "forward" -> {
        return new Forward();
      }
      case "reverse" -> {
        return new Reverse();
      }
      default -> {
        try {
          return new Explicit(text, Arrays.stream(text.split(",")).map(String::trim)
              .mapToInt(Integer::parseInt).toArray());
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("alpha order '" + text
              + "' must be forward, reverse or a comma-separated list of unit indices");
        }
      }
    }
  }

  /** 0, 1, ..., n-1. */
  record Forward() implements AlphaOrder {
    @Override
    public int[] resolve(int units) {
      int[] o = new int[units];
      Arrays.setAll(o, i -> i);
      return o;
    }
  }

  /** n-1, ..., 0. */
  record Reverse() implements AlphaOrder {
    @Override
    public int[] resolve(int units) {
      int[] o = new int[units];
      Arrays.setAll(o, i -> units - 1 - i);
      return o;
    }
  }

  /** A list as written; {@link AlphaSchedule} checks that it names every unit once. */
  record Explicit(String text, int[] units) implements AlphaOrder {
    @Override
    public int[] resolve(int n) {
      if (units.length != n) {
        throw new IllegalArgumentException("alpha order '" + text + "' lists " + units.length
            + " units but the retrofit has " + n);
      }
      return units.clone();
    }
  }
}
