package dev.graft.sampler;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleSupplier;

/**
 * Chooses the next token from one row of logits, and scores it. Pure Java, no native memory.
 *
 * <p>Temperature 0 is greedy: the argmax, ties to the lower id, and no random draw. Otherwise the
 * distribution is {@code softmax(logits / T)}, restricted to the {@code top_k} most likely tokens
 * (ties to the lower id), then to the smallest prefix of those whose renormalised mass reaches
 * {@code top_p}, renormalised again; exactly one uniform draw picks from it. One draw
 * per token, whatever the filters, keeps a request's random stream independent of everything but
 * its own seed and tokens.
 *
 * <p>Part of the sampling contract: the sampler-service draws every token with it, and the
 * trainer's evaluation of what a student writes draws with it too.
 */
public final class TokenSampler {

  private TokenSampler() {}

  /** The chosen token id. */
  public static int choose(float[] logits, SamplingParams params, Random rng) {
    return choose(logits, params, rng::nextDouble);
  }

  /**
   * The chosen token id, {@code uniform} giving the one draw in [0, 1) (not called when greedy).
   */
  public static int choose(float[] logits, SamplingParams params, DoubleSupplier uniform) {
    if (params.temperature() == 0) {
      return argmax(logits);
    }
    double max = logits[argmax(logits)];
    double invT = 1.0 / params.temperature();
    int v = logits.length;
    boolean filtered = params.topK() > 0 && params.topK() < v || params.topP() < 1;
    if (!filtered) {
      double[] p = new double[v];
      double total = 0;
      for (int i = 0; i < v; i++) {
        p[i] = Math.exp((logits[i] - max) * invT);
        total += p[i];
      }
      return draw(p, null, v, total, uniform.getAsDouble());
    }
    int[] order = descending(logits);
    int k = params.topK() > 0 ? Math.min(params.topK(), v) : v;
    double[] p = new double[k]; // probabilities in rank order
    double mass = 0;
    for (int r = 0; r < k; r++) {
      p[r] = Math.exp((logits[order[r]] - max) * invT);
      mass += p[r];
    }
    int kept = k;
    double keptMass = mass;
    if (params.topP() < 1) {
      double target = params.topP() * mass;
      double cumulative = 0;
      for (int r = 0; r < k; r++) {
        cumulative += p[r];
        if (cumulative >= target) {
          kept = r + 1;
          keptMass = cumulative;
          break;
        }
      }
    }
    return draw(p, order, kept, keptMass, uniform.getAsDouble());
  }

  /**
   * {@code log_softmax(logits)[token]}: the log-prob at temperature 1 on the unfiltered
   * distribution, computed in double precision.
   */
  public static float logProb(float[] logits, int token) {
    double max = logits[argmax(logits)];
    double sum = 0;
    for (float l : logits) {
      sum += Math.exp(l - max);
    }
    return (float) (logits[token] - max - Math.log(sum));
  }

  /** Index of the largest value, the lowest index on ties. */
  public static int argmax(float[] values) {
    int best = 0;
    for (int i = 1; i < values.length; i++) {
      if (values[i] > values[best]) {
        best = i;
      }
    }
    return best;
  }

  /** Walks the first {@code n} weights (by rank through {@code order}, or by id) to {@code u·total}. */
  private static int draw(double[] p, int[] order, int n, double total, double u) {
    double target = u * total;
    double cumulative = 0;
    for (int r = 0; r < n; r++) {
      cumulative += p[r];
      if (target < cumulative) {
        return order == null ? r : order[r];
      }
    }
    return order == null ? n - 1 : order[n - 1]; // rounding left u·total at the very end
  }

  /**
   * Ids sorted by logit, highest first, ties to the lower id. Sorting packed {@code long} keys
   * (descending order-preserving bits of the float, then the id) avoids boxing.
   */
  static int[] descending(float[] logits) {
    long[] keys = new long[logits.length];
    for (int i = 0; i < logits.length; i++) {
      int bits = Float.floatToIntBits(logits[i]);
      long ascending = (bits ^ ((bits >> 31) | 0x80000000)) & 0xFFFFFFFFL;
      keys[i] = ((0xFFFFFFFFL - ascending) << 31) | i;
    }
    Arrays.sort(keys);
    int[] order = new int[logits.length];
    for (int r = 0; r < order.length; r++) {
      order[r] = (int) (keys[r] & 0x7FFFFFFFL);
    }
    return order;
  }
}
