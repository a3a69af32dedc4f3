package dev.graft.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * What this machine's engine can do, measured in the same run as the phases it is compared with:
 * fp32 matrix-multiply rates through the engine's own linear operation ({@code x · Wᵀ}, as every
 * layer of the model computes it) at a large square and at the model's shapes, and memory
 * bandwidth as the copy rate of a large array. Each measurement repeats its operation until
 * {@code seconds} have passed (after one untimed call) and keeps the best of three such rounds.
 */
public final class EngineRate {

  private final NDManager manager;
  private final double seconds;
  private final LongSupplier clock;

  /**
   * @param seconds the least time per round; a small value gives a quick, rough figure
   * @param clock nanoseconds
   */
  public EngineRate(NDManager manager, double seconds, LongSupplier clock) {
    if (!(seconds > 0)) {
      throw new IllegalArgumentException("seconds per measurement must be > 0, got " + seconds);
    }
    this.manager = manager;
    this.seconds = seconds;
    this.clock = clock;
  }

  /** GFLOP/s of {@code x (m, k) · Wᵀ} with W (n, k). */
  public double gemm(long m, long k, long n) {
    if (m < 1 || k < 1 || n < 1) {
      throw new IllegalArgumentException("GEMM sizes must be >= 1, got " + m + " x " + k + " x " + n);
    }
    try (NDManager s = manager.newSubManager()) {
      NDArray x = s.randomNormal(new Shape(m, k));
      NDArray w = s.randomNormal(new Shape(n, k));
      double perCall = bestSeconds(() -> {
        try (NDManager call = s.newSubManager()) {
          x.getNDArrayInternal().linear(x, w, null).singletonOrThrow().attach(call);
        }
      });
      return 2.0 * m * k * n / perCall / 1e9;
    }
  }

  /** Gigabytes per second of copying an array of {@code bytes} (read + written counted once each). */
  public double copyBandwidth(long bytes) {
    long floats = Math.max(1, bytes / Float.BYTES);
    try (NDManager s = manager.newSubManager()) {
      NDArray a = s.ones(new Shape(floats));
      double perCall = bestSeconds(() -> {
        try (NDManager call = s.newSubManager()) {
          a.duplicate().attach(call);
        }
      });
      return 2.0 * floats * Float.BYTES / perCall / 1e9;
    }
  }

  /**
   * The rate of a whole pass over {@code matmuls} at {@code tokens} rows each: total FLOPs over the
   * summed time of each shape at its own measured rate (a FLOP-weighted harmonic mean), with
   * each shape's rate in {@code perShape} under {@code name (tokens x in x out)}.
   */
  public double modelRate(List<ModelFlops.Matmul> matmuls, long tokens, Map<String, Double> perShape) {
    Map<String, Double> measured = new LinkedHashMap<>();
    double flops = 0;
    double time = 0;
    for (ModelFlops.Matmul mm : matmuls) {
      String key = tokens + "x" + mm.in() + "x" + mm.out();
      Double rate = measured.get(key);
      if (rate == null) {
        rate = gemm(tokens, mm.in(), mm.out());
        measured.put(key, rate);
      }
      perShape.put(mm.name() + " (" + key + ")", rate);
      double f = (double) mm.flopsPerToken() * tokens;
      flops += f;
      time += f / (rate * 1e9);
    }
    return flops / time / 1e9;
  }

  private double bestSeconds(Runnable op) {
    op.run(); // untimed: first-call allocation and kernel selection
    double best = Double.MAX_VALUE;
    for (int round = 0; round < 3; round++) {
      long start = clock.getAsLong();
      long calls = 0;
      long elapsed;
      do {
        op.run();
        calls++;
        elapsed = clock.getAsLong() - start;
      } while (elapsed < seconds * 1e9);
      best = Math.min(best, elapsed / 1e9 / calls);
    }
    return best;
  }
}
