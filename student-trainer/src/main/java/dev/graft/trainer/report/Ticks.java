package dev.graft.trainer.report;

import java.util.Locale;

/**
 * "Nice" axis ticks: evenly spaced at 1, 2 or 5 times a power of ten, covering a range, and
 * labels with just the decimals the spacing needs.
 *
 * @param first the first tick, at or below the range's low end
 * @param step the spacing, positive
 * @param count the number of ticks; the last, {@code first + (count - 1) * step}, is at or above the high end
 */
record Ticks(double first, double step, int count) {

  /**
   * Ticks covering [{@code lo}, {@code hi}] with about {@code target} intervals.
   *
   * @param integer spacing of at least 1 (for step counts)
   * @throws IllegalArgumentException when the range is not finite or reversed, or target < 1
   */
  static Ticks covering(double lo, double hi, int target, boolean integer) {
    if (!Double.isFinite(lo) || !Double.isFinite(hi) || lo > hi || target < 1) {
      throw new IllegalArgumentException("cannot tick [" + lo + ", " + hi + "] with " + target + " intervals");
    }
    if (lo == hi) {
      double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
      lo -= pad;
      hi += pad;
      if (integer) {
        lo = Math.floor(lo);
        hi = Math.ceil(hi);
      }
    }
    double raw = (hi - lo) / target;
    double mag = Math.pow(10, Math.floor(Math.log10(raw)));
    double norm = raw / mag;
    double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
    if (integer) {
      step = Math.max(1, Math.round(step));
    }
    double first = Math.floor(lo / step + 1e-9) * step;
    int count = (int) Math.ceil((hi - first) / step - 1e-9) + 1;
    return new Ticks(first, step, Math.max(count, 2));
  }

  /** The i-th tick, rounded to the spacing's precision (no 0.30000000000000004). */
  double at(int i) {
    double scale = Math.pow(10, decimals());
    return Math.round((first + i * step) * scale) / scale;
  }

  /** The last tick: the top of the axis. */
  double last() {
    return at(count - 1);
  }

  /** The label of a tick value; as a percentage of 1 when {@code percent}. */
  String label(double v, boolean percent) {
    if (percent) {
      int d = Math.max(0, decimals() - 2);
      return String.format(Locale.ROOT, "%." + d + "f%%", 100 * v);
    }
    double top = Math.max(Math.abs(first), Math.abs(last()));
    if (step < 1e-4 || top >= 1e7) {
      return String.format(Locale.ROOT, "%.2g", v);
    }
    return String.format(Locale.ROOT, "%,." + decimals() + "f", v);
  }

  /** Decimals the spacing needs: 0 for 1, 2, 5, 10, ...; 1 for 0.5; 2 for 0.02. */
  int decimals() {
    return Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
  }
}
