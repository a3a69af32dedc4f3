package dev.graft.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * What the teacher says about each position, at the distillation temperature τ: either its whole
 * next-token distribution or its top-k plus one bucket for the rest of the vocabulary. The arrays
 * are borrowed, never closed here.
 */
public sealed interface TeacherTargets permits TeacherTargets.Full, TeacherTargets.TopK {

  /**
   * Checks that these targets describe student logits of the given shape.
   *
   * @param logits the student's logits shape (B, T, V)
   * @throws IllegalArgumentException naming both shapes when they do not fit
   */
  void checkFits(Shape logits);

  /**
   * The whole distribution: {@code log_softmax(teacherLogits / τ)}.
   *
   * @param logProbs (B, T, V) float32; −∞ is allowed (a token the teacher rules out)
   */
  record Full(NDArray logProbs) implements TeacherTargets {
    public Full {
      requireFloat32("teacher log-probs", logProbs);
    }

    @Override
    public void checkFits(Shape logits) {
      if (!logProbs.getShape().equals(logits)) {
        throw new IllegalArgumentException(
            "teacher log-probs " + logProbs.getShape() + " must have the student logits' shape "
                + logits);
      }
    }
  }

  /**
   * The teacher's k most likely tokens and one tail bucket holding the remaining mass.
   *
   * @param ids (B, T, k) int64, distinct within a position, each in [0, V)
   * @param logProbs (B, T, k) float32, the teacher's log-probs at {@code ids}
   * @param logTail (B, T) float32, {@code log(1 − Σ exp(logProbs))}; −∞ (or any value below
   *     log(Float.MIN_NORMAL)) when the tail is empty, never NaN
   */
  record TopK(NDArray ids, NDArray logProbs, NDArray logTail) implements TeacherTargets {
    public TopK {
      if (ids.getDataType() != DataType.INT64) {
        throw new IllegalArgumentException(
            "teacher top-k ids must be int64, got " + ids.getDataType());
      }
      requireFloat32("teacher top-k log-probs", logProbs);
      requireFloat32("teacher log tail mass", logTail);
      Shape s = ids.getShape();
      if (s.dimension() != 3 || !logProbs.getShape().equals(s)) {
        throw new IllegalArgumentException(
            "teacher top-k ids " + s + " and log-probs " + logProbs.getShape()
                + " must have one shape (B, T, k)");
      }
      if (!logTail.getShape().equals(new Shape(s.get(0), s.get(1)))) {
        throw new IllegalArgumentException(
            "teacher log tail mass " + logTail.getShape() + " must be (B, T) = "
                + new Shape(s.get(0), s.get(1)));
      }
    }

    /** The number of explicit tokens per position. */
    public int k() {
      return (int) ids.getShape().get(2);
    }

    @Override
    public void checkFits(Shape logits) {
      Shape s = ids.getShape();
      if (logits.get(0) != s.get(0) || logits.get(1) != s.get(1)) {
        throw new IllegalArgumentException(
            "teacher top-k " + s + " must cover the student logits' (B, T) " + logits);
      }
      if (k() < 1 || k() > logits.get(2)) {
        throw new IllegalArgumentException(
            "teacher top-k has k = " + k() + " but must have 1 <= k <= V = " + logits.get(2));
      }
    }
  }

  private static void requireFloat32(String what, NDArray a) {
    if (a.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException(what + " must be float32, got " + a.getDataType());
    }
  }
}
