package dev.graft.teacher;

/** A teacher could not answer: transport failure, over capacity after retries, or shut down. */
public final class TeacherUnavailableException extends RuntimeException {

  public TeacherUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }

  public TeacherUnavailableException(String message) {
    super(message);
  }
}
