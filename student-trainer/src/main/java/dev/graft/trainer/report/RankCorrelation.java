package dev.graft.trainer.report;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Spearman's rank correlation: the Pearson correlation of the two samples' ranks, tied values
 * sharing the average of the ranks they span (so 1, 2, 2, 3 ranks as 1, 2.5, 2.5, 4).
 */
public final class RankCorrelation {

  private RankCorrelation() {}

  /**
   * Ranks from 1 (the smallest value) to n; equal values get the mean of the ranks they occupy.
   *
   * @throws IllegalArgumentException for a NaN value
   */
  public static double[] ranks(double[] values) {
    for (double v : values) {
      if (Double.isNaN(v)) {
        throw new IllegalArgumentException("cannot rank NaN in " + Arrays.toString(values));
      }
    }
    Integer[] order = IntStream.range(0, values.length).boxed().toArray(Integer[]::new);
    Arrays.sort(order, Comparator.comparingDouble(i -> values[i]));
    double[] ranks = new double[values.length];
    for (int from = 0; from < order.length; ) {
      int to = from;
      while (to + 1 < order.length && values[order[to + 1]] == values[order[from]]) {
        to++;
      }
      double average = (from + to) / 2.0 + 1; // positions from..to hold ranks from+1..to+1
      for (int k = from; k <= to; k++) {
        ranks[order[k]] = average;
      }
      from = to + 1;
    }
    return ranks;
  }

  /**
   * Spearman's ρ of {@code a} and {@code b}, paired by index; NaN when either sample is constant
   * (its ranks have no variance, so no ordering to compare).
   *
   * @throws IllegalArgumentException when the lengths differ or fewer than 2 pairs are given
   */
  public static double spearman(double[] a, double[] b) {
    if (a.length != b.length || a.length < 2) {
      throw new IllegalArgumentException("rank correlation needs two samples of the same length >= 2, got "
          + a.length + " and " + b.length);
    }
    return pearson(ranks(a), ranks(b));
  }

  private static double pearson(double[] x, double[] y) {
    double mx = Arrays.stream(x).average().orElseThrow();
    double my = Arrays.stream(y).average().orElseThrow();
    double sxy = 0;
    double sxx = 0;
    double syy = 0;
    for (int i = 0; i < x.length; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
      syy += (y[i] - my) * (y[i] - my);
    }
    return sxx == 0 || syy == 0 ? Double.NaN : sxy / Math.sqrt(sxx * syy);
  }
}
