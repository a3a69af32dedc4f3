package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** Checks a model state against the names and shapes it must have, naming what differs. */
final class StateCheck {

  private StateCheck() {}

  static void require(Map<String, List<Long>> expected, Map<String, NDArray> state) {
    var missing = new TreeSet<>(expected.keySet());
    missing.removeAll(state.keySet());
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException("missing tensor(s): " + missing);
    }
    var extra = new TreeSet<>(state.keySet());
    extra.removeAll(expected.keySet());
    if (!extra.isEmpty()) {
      throw new IllegalArgumentException("unexpected tensor(s) for this student: " + extra);
    }
    for (var e : expected.entrySet()) {
      Shape want = new Shape(e.getValue().stream().mapToLong(Long::longValue).toArray());
      Shape got = state.get(e.getKey()).getShape();
      if (!got.equals(want)) {
        throw new IllegalArgumentException("tensor '" + e.getKey() + "' has shape " + got
            + " but the student expects " + want);
      }
    }
  }
}
