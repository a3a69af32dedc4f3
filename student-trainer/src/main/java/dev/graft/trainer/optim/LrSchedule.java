package dev.graft.trainer.optim;

/**
 * Learning rate as a pure function of the (1-based) optimizer step. Two shapes: linear warmup then
 * cosine decay to {@code minRatio·peak}; and warmup-stable-decay (WSD), flat after warmup and a
 * linear decay over the last {@code decayFraction} of the run.
 */
public sealed interface LrSchedule {

  double lr(long step);

  static LrSchedule parse(String name, double peak, long warmup, long total, double minRatio) {
    return switch (name) {
      case "cosine" -> new Cosine(peak, warmup, total, minRatio);
      case "wsd" -> new WarmupStableDecay(peak, warmup, total, 0.2, minRatio);
      case "constant" -> new Cosine(peak, warmup, total, 1.0);
      default -> throw new IllegalArgumentException(
          "unknown lr schedule '" + name + "' (expected cosine, wsd or constant)");
    };
  }

  private static void check(double peak, long warmup, long total, double minRatio) {
    if (!(peak > 0) || !Double.isFinite(peak)) {
      throw new IllegalArgumentException("learning rate (" + peak + ") must be > 0");
    }
    if (total <= 0) {
      throw new IllegalArgumentException("total steps (" + total + ") must be > 0");
    }
    if (warmup < 0 || warmup > total) {
      throw new IllegalArgumentException("warmup steps (" + warmup + ") must be in [0, total steps=" + total + "]");
    }
    if (!(minRatio >= 0 && minRatio <= 1)) {
      throw new IllegalArgumentException("min lr ratio (" + minRatio + ") must be in [0, 1]");
    }
  }

  private static double warm(double peak, long warmup, long step) {
    return peak * step / (double) warmup;
  }

  /** Linear warmup over {@code warmup} steps, then cosine from peak to minRatio·peak at {@code total}. */
  record Cosine(double peak, long warmup, long total, double minRatio) implements LrSchedule {
    public Cosine {
      check(peak, warmup, total, minRatio);
    }

    @Override
    public double lr(long step) {
      if (step <= warmup) {
        return warmup == 0 ? peak : warm(peak, warmup, step);
      }
      double progress = Math.min(1.0, (step - warmup) / (double) Math.max(1, total - warmup));
      double min = peak * minRatio;
      return min + 0.5 * (peak - min) * (1 + Math.cos(Math.PI * progress));
    }
  }

  /** Warmup, a constant plateau, then a linear decay to minRatio·peak over the last fraction. */
  record WarmupStableDecay(double peak, long warmup, long total, double decayFraction, double minRatio)
      implements LrSchedule {
    public WarmupStableDecay {
      check(peak, warmup, total, minRatio);
      if (!(decayFraction > 0 && decayFraction <= 1)) {
        throw new IllegalArgumentException("decay fraction (" + decayFraction + ") must be in (0, 1]");
      }
    }

    @Override
    public double lr(long step) {
      if (step <= warmup) {
        return warmup == 0 ? peak : warm(peak, warmup, step);
      }
      long decaySteps = Math.max(1, Math.round(total * decayFraction));
      long decayStart = Math.max(warmup, total - decaySteps);
      if (step <= decayStart) {
        return peak;
      }
      double progress = Math.min(1.0, (step - decayStart) / (double) Math.max(1, total - decayStart));
      return peak + (peak * minRatio - peak) * progress;
    }
  }
}
