package dev.graft.teacher;

/**
 * The teacher is not one model: replicas disagree on the model, tokenizer or vocabulary, or an
 * answer was computed with another model than the replicas agreed on. Not retried: scores of two
 * teachers must never be mixed in one run, so the run stops.
 */
public final class TeacherMismatchException extends IllegalStateException {

  public TeacherMismatchException(String message) {
    super(message);
  }
}
