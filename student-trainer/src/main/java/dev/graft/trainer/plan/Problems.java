package dev.graft.trainer.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** Collects every problem of a run config, to report them all at once. */
final class Problems {

  private final List<String> problems = new ArrayList<>();

  void add(String problem) {
    problems.add(problem);
  }

  /** Records {@code message} unless {@code ok}. */
  void require(boolean ok, Supplier<String> message) {
    if (!ok) {
      problems.add(message.get());
    }
  }

  void positive(String key, long v) {
    require(v > 0, () -> key + " (" + v + ") must be > 0");
  }

  /** The value {@code parse} makes, or null after recording its {@link IllegalArgumentException}. */
  <T> T attempt(Supplier<T> parse) {
    try {
      return parse.get();
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
      return null;
    }
  }

  /**
   * @throws IllegalArgumentException "invalid run config: ..." with every problem, if any
   */
  void throwIfAny() {
    if (problems.size() == 1) {
      throw new IllegalArgumentException("invalid run config: " + problems.get(0));
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid run config:\n  - " + String.join("\n  - ", problems));
    }
  }
}
