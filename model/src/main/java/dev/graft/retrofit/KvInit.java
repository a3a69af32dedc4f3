package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Locale;
import java.util.Random;

/**
 * How a student's key/value projections (sKv heads) are initialised from the teacher's (tKv heads),
 * after "Barebones" GQA ablations: from more heads to fewer, average each group ({@code MEAN_POOL})
 * or keep its first head ({@code KEEP_ONE}); from fewer to more (MQA → GQA), {@code DUPLICATE};
 * or {@code RANDOM} (N(0, 0.02²)) as the baseline.
 */
public enum KvInit {
  MEAN_POOL, KEEP_ONE, DUPLICATE, RANDOM;

  public static KvInit parse(String name) {
    try {
      return valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown kv-head init '" + name
          + "' (expected mean_pool, keep_one, duplicate or random)");
    }
  }

  /** Checks that this strategy can map tKv teacher heads to sKv student heads. */
  public void check(int tKv, int sKv) {
    boolean ok = switch (this) {
      case MEAN_POOL, KEEP_ONE -> tKv >= sKv && tKv % sKv == 0;
      case DUPLICATE -> sKv >= tKv && sKv % tKv == 0;
      case RANDOM -> true;
    };
    if (!ok) {
      String need = this == DUPLICATE ? "a multiple of the teacher's" : "a divisor of the teacher's";
      throw new IllegalArgumentException("kv-head init " + name().toLowerCase(Locale.ROOT)
          + " needs the student's num_key_value_heads (" + sKv + ") to be " + need + " (" + tKv + ")"
          + (this == DUPLICATE ? "" : "; use duplicate to go from fewer heads to more"));
    }
  }

  /**
   * @param teacher (tKv·headDim, D) projection weight
   * @return (sKv·headDim, D) on {@code manager}
   */
  public NDArray apply(NDArray teacher, int tKv, int sKv, int headDim, NDManager manager, Random rng) {
    check(tKv, sKv);
    long d = teacher.getShape().get(1);
    NDArray heads = teacher.reshape(tKv, headDim, d); // (tKv, hd, D)
    NDArray out = switch (this) {
      case MEAN_POOL -> heads.reshape(sKv, tKv / sKv, headDim, d).mean(new int[] {1}); // (sKv, hd, D)
      case KEEP_ONE -> heads.reshape(sKv, tKv / sKv, headDim, d).get(":, 0, :, :");
      case DUPLICATE -> heads.reshape(tKv, 1, headDim, d).repeat(1, sKv / tKv); // (tKv, G, hd, D)
      case RANDOM -> random(manager, new Shape(sKv, headDim, d), rng);
    };
    NDArray w = out.reshape((long) sKv * headDim, d);
    NDArray copy = manager.create(w.toFloatArray(), w.getShape()); // detached from the teacher's graph
    return copy;
  }

  /**
   * The student's key/value bias from the teacher's, pooled as {@link #apply} pools the weight's
   * rows; {@code RANDOM} starts it at zero (as Hugging Face initialises biases).
   *
   * @param teacher (tKv·headDim) bias
   * @return (sKv·headDim) on {@code manager}
   */
  public NDArray applyBias(NDArray teacher, int tKv, int sKv, int headDim, NDManager manager) {
    check(tKv, sKv);
    if (this == RANDOM) {
      return manager.zeros(new Shape((long) sKv * headDim));
    }
    NDArray column = teacher.reshape(teacher.getShape().get(0), 1); // (tKv·hd, 1)
    return apply(column, tKv, sKv, headDim, manager, null).reshape((long) sKv * headDim);
  }

  private static NDArray random(NDManager m, Shape shape, Random rng) {
    float[] a = new float[(int) shape.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) (rng.nextGaussian() * 0.02);
    }
    return m.create(a, shape);
  }
}
