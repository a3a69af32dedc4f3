package dev.graft.trainer.report;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The values of one quantity over repeated runs (seeds): mean, sample standard deviation and
 * count. A single value has no spread.
 */
public record Spread(List<Double> values) {

  public Spread {
    values = List.copyOf(values);
    if (values.isEmpty()) {
      throw new IllegalArgumentException("a spread needs at least one value");
    }
  }

  public static Spread of(double... values) {
    return new Spread(Arrays.stream(values).boxed().toList());
  }

  public int n() {
    return values.size();
  }

  public double mean() {
    return values.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
  }

  /** The sample standard deviation (n − 1); 0 for a single value. */
  public double std() {
    if (values.size() < 2) {
      return 0;
    }
    double m = mean();
    double ss = values.stream().mapToDouble(v -> (v - m) * (v - m)).sum();
    return Math.sqrt(ss / (values.size() - 1));
  }

  /** "0.1234" for one value, "0.1234 ± 0.0056" for several; percentages of 1 when {@code percent}. */
  public String format(String pattern, boolean percent) {
    double k = percent ? 100 : 1;
    String mean = String.format(Locale.ROOT, pattern, k * mean()) + (percent ? "%" : "");
    return n() == 1 ? mean : mean + " ± " + String.format(Locale.ROOT, pattern, k * std())
        + (percent ? " pp" : "");
  }
}
