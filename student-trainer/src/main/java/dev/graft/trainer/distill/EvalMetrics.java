package dev.graft.trainer.distill;

/**
 * Sums over held-out positions, from which the reported means follow.
 *
 * @param tokens positions scored
 * @param kl Σ KL(teacher ‖ student) in nats
 * @param studentNll Σ −log q(data token)
 * @param teacherNll Σ −log p(data token)
 * @param agree positions where the student's and the teacher's most likely tokens agree
 */
public record EvalMetrics(long tokens, double kl, double studentNll, double teacherNll, long agree) {

  public static final EvalMetrics ZERO = new EvalMetrics(0, 0, 0, 0, 0);

  public EvalMetrics plus(EvalMetrics o) {
    return new EvalMetrics(tokens + o.tokens, kl + o.kl, studentNll + o.studentNll,
        teacherNll + o.teacherNll, agree + o.agree);
  }

  /** Mean KL(teacher ‖ student) per token, in nats. */
  public double meanKl() {
    return tokens == 0 ? Double.NaN : kl / tokens;
  }

  public double studentPerplexity() {
    return tokens == 0 ? Double.NaN : Math.exp(studentNll / tokens);
  }

  public double teacherPerplexity() {
    return tokens == 0 ? Double.NaN : Math.exp(teacherNll / tokens);
  }

  /** Fraction of positions whose argmax tokens agree. */
  public double top1Agreement() {
    return tokens == 0 ? Double.NaN : agree / (double) tokens;
  }

  /**
   * The share of a starting KL gap that this result has closed: 1 − KL/KL_start (1 = the teacher
   * is matched, 0 = no better than the start, negative = worse).
   */
  public double gapRecovered(EvalMetrics start) {
    double before = start.meanKl();
    return before > 0 ? 1 - meanKl() / before : Double.NaN;
  }
}
