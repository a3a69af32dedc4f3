package dev.graft.teacher.server;

/**
 * A teacher refused work because it already holds its maximum of in-flight tokens. Nothing was
 * done; the same request may succeed later or on another replica.
 */
public final class TeacherOverloadedException extends RuntimeException {

  public TeacherOverloadedException(String message) {
    super(message);
  }
}
