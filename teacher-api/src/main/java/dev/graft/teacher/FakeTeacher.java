package dev.graft.teacher;

import dev.graft.data.TokenBatch;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link TeacherScorer} with synthetic, deterministic distributions, for tests of other
 * modules. The next-token logits at a position depend only on the seed and the token there (a
 * bigram model): standard normal noise times {@link #NOISE_SCALE}, plus {@link #NEXT_BONUS} on
 * the id after it, so the distributions are peaked and learnable. It validates requests exactly
 * like a real teacher and counts its calls. Thread-safe.
 */
public final class FakeTeacher implements TeacherScorer {

  public static final double NOISE_SCALE = 1.5;
  public static final double NEXT_BONUS = 4.0;

  private final int vocab;
  private final long seed;
  private final TeacherLimits limits;
  private final TeacherInfo info;
  private final AtomicInteger calls = new AtomicInteger();
  private final AtomicLong tokensScored = new AtomicLong();
  private volatile boolean closed;

  /** A fake with a 4096-token context and up to 1,048,576 tokens per request. */
  public FakeTeacher(int vocab, long seed) {
    this(vocab, seed, new TeacherLimits(4096, 1 << 20));
  }

  /**
   * @throws IllegalArgumentException if {@code vocab < 2}
   */
  public FakeTeacher(int vocab, long seed, TeacherLimits limits) {
    if (vocab < 2) {
      throw new IllegalArgumentException("fake teacher vocab (" + vocab + ") must be >= 2");
    }
    this.vocab = vocab;
    this.seed = seed;
    this.limits = limits;
    this.info = new TeacherInfo("FakeTeacher", vocab, "",
        "fake-v" + vocab + "-seed" + seed, limits.maxSequenceLength(),
        limits.maxTokensPerRequest(), 0, 0);
  }

  @Override
  public TeacherInfo info() {
    return info;
  }

  /**
   * {@inheritDoc} Throws {@link TeacherUnavailableException} after {@link #close()}.
   */
  @Override
  public Scores score(TokenBatch tokens, ScoreRequest request) {
    if (closed) {
      throw new TeacherUnavailableException("the fake teacher is closed");
    }
    limits.validate(tokens, request, vocab);
    int b = tokens.batch();
    int t = tokens.length();
    float[] logProbs = new float[b * t * vocab];
    Map<Integer, float[]> rows = new HashMap<>();
    for (int p = 0; p < b * t; p++) {
      float[] row = rows.computeIfAbsent(tokens.ids()[p], id -> logProbs(id, request.temperature()));
      System.arraycopy(row, 0, logProbs, p * vocab, vocab);
    }
    calls.incrementAndGet();
    tokensScored.addAndGet((long) b * t);
    return LogProbOps.toScores(logProbs, b, t, vocab, request);
  }

  /** The raw logits after {@code token}. */
  public double[] logits(int token) {
    SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + token);
    double[] z = new double[vocab];
    for (int j = 0; j < vocab; j++) {
      z[j] = rng.nextGaussian() * NOISE_SCALE;
    }
    z[(token + 1) % vocab] += NEXT_BONUS;
    return z;
  }

  /** log_softmax(logits(token) / temperature), computed in double. */
  public float[] logProbs(int token, float temperature) {
    double[] z = logits(token);
    double max = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < vocab; j++) {
      z[j] /= temperature;
      max = Math.max(max, z[j]);
    }
    double sum = 0;
    for (double v : z) {
      sum += Math.exp(v - max);
    }
    double lse = max + Math.log(sum);
    float[] out = new float[vocab];
    for (int j = 0; j < vocab; j++) {
      out[j] = (float) (z[j] - lse);
    }
    return out;
  }

  /** Successful score calls so far. */
  public int calls() {
    return calls.get();
  }

  /** Tokens scored by successful calls so far. */
  public long tokensScored() {
    return tokensScored.get();
  }

  @Override
  public void close() {
    closed = true;
  }
}
