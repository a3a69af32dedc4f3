package dev.graft.teacher;

import dev.graft.data.TokenBatch;

/**
 * Scores token sequences with the frozen teacher: the student-trainer's view of a teacher,
 * whether it runs in the same process ({@link LocalTeacher}) or behind gRPC
 * ({@link TeacherClient}). Implementations are thread-safe: a trainer prefetches the next
 * batch's targets on another thread while the current step trains.
 */
public interface TeacherScorer extends AutoCloseable {

  /** What the teacher is: architecture, vocabulary, tokenizer fingerprint, limits. */
  TeacherInfo info();

  /**
   * Scores B sequences of one length T.
   *
   * @param tokens B rows of T token ids, each in [0, vocab)
   * @param request which output per position, at which temperature
   * @return the outputs for every position of every row, in row-major (B, T, ...) order
   * @throws IllegalArgumentException for ragged rows, ids outside the vocabulary, a sequence
   *     longer than the teacher's limit or a bad request
   * @throws TeacherUnavailableException when the teacher cannot answer (transport failure,
   *     over capacity after retries, shut down)
   */
  Scores score(TokenBatch tokens, ScoreRequest request);

  @Override
  void close();
}
