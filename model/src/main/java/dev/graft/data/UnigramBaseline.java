package dev.graft.data;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The add-one (Laplace) smoothed unigram model: {@code p(w) = (count(w) + 1) / (N + V)} for {@code
 * N} training tokens and a vocabulary of {@code V} ids. Its perplexity on validation tokens, {@code
 * exp(-mean(log p(w)))}, is the floor a trained language model must clearly beat. Immutable.
 */
public final class UnigramBaseline {

  private final int vocabSize;
  private final double[] logProbability;

  private UnigramBaseline(int vocabSize, double[] logProbability) {
    this.vocabSize = vocabSize;
    this.logProbability = logProbability;
  }

  /**
   * Counts {@code trainTokens}.
   *
   * @throws IllegalArgumentException if {@code vocabSize < 1} or a token is outside {@code [0,
   *     vocabSize)}
   */
  public static UnigramBaseline fit(int[] trainTokens, int vocabSize) {
    if (vocabSize < 1) {
      throw new IllegalArgumentException("vocabSize (" + vocabSize + ") must be at least 1");
    }
    long[] counts = new long[vocabSize];
    for (int token : trainTokens) {
      counts[checkToken(token, vocabSize, "training")]++;
    }
    double logDenominator = Math.log((double) trainTokens.length + vocabSize);
    double[] logProbability = new double[vocabSize];
    for (int id = 0; id < vocabSize; id++) {
      logProbability[id] = Math.log(counts[id] + 1.0) - logDenominator;
    }
    return new UnigramBaseline(vocabSize, logProbability);
  }

  /** Fits on {@code trainTokens} and returns the perplexity on {@code validationTokens}. */
  public static double perplexity(int[] trainTokens, int[] validationTokens, int vocabSize) {
    return fit(trainTokens, vocabSize).perplexity(validationTokens);
  }

  /** The smoothed probability of {@code token}. */
  public double probability(int token) {
    return Math.exp(logProbability[checkToken(token, vocabSize, "queried")]);
  }

  /**
   * The perplexity of {@code tokens}: {@code exp(-(1/M) * sum log p(w))}.
   *
   * @throws IllegalArgumentException if {@code tokens} is empty or holds an id outside the vocab
   */
  public double perplexity(int[] tokens) {
    if (tokens.length == 0) {
      throw new IllegalArgumentException("perplexity needs at least one validation token");
    }
    double sum = 0;
    for (int token : tokens) {
      sum += logProbability[checkToken(token, vocabSize, "validation")];
    }
    return Math.exp(-sum / tokens.length);
  }

  /** The perplexity of the real targets of each domain that has any, sorted by domain. */
  public Map<String, Double> perplexityByDomain(PackedSequences validation) {
    Map<String, Double> byDomain = new TreeMap<>();
    for (String domain : validation.domains()) {
      int[] targets = validation.targetTokens(domain);
      if (targets.length > 0) {
        byDomain.put(domain, perplexity(targets));
      }
    }
    return Collections.unmodifiableMap(byDomain);
  }

  private static int checkToken(int token, int vocabSize, String role) {
    if (token < 0 || token >= vocabSize) {
      throw new IllegalArgumentException(
          role + " token id " + token + " is outside the vocabulary [0, " + vocabSize + ")");
    }
    return token;
  }
}
