package dev.graft.trainer.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.Tensors;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * AdamW with PyTorch's semantics: decoupled weight decay {@code p -= lr·wd·p}, bias-corrected
 * moments, and eps added after bias correction. Parameters form two groups: those matched by
 * {@code decays} get {@code weightDecay}, the rest none (norms, by convention). The moment
 * estimates live on the optimizer's own manager and can be exported for exact resumption.
 *
 * <p>Written from NDArray ops rather than DJL's {@code Optimizer.adamW()}, whose state is private
 * (it could not be checkpointed) and whose eps placement differs from PyTorch.
 */
public final class AdamW implements AutoCloseable {

  private final Map<String, NDArray> params;
  private final Map<String, Boolean> decay = new LinkedHashMap<>();
  private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
  private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
  private final NDManager manager;
  private final Hyper hyper;
  private long step;

  /** Fixed hyper-parameters; the learning rate is given per step by the schedule. */
  public record Hyper(double beta1, double beta2, double eps, double weightDecay) {
    public Hyper {
      if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
        throw new IllegalArgumentException("betas must be in [0, 1), got (" + beta1 + ", " + beta2 + ")");
      }
      if (!(eps > 0)) {
        throw new IllegalArgumentException("eps (" + eps + ") must be > 0");
      }
      if (!(weightDecay >= 0)) {
        throw new IllegalArgumentException("weight_decay (" + weightDecay + ") must be >= 0");
      }
    }

    public static Hyper defaults(double weightDecay) {
      return new Hyper(0.9, 0.95, 1e-8, weightDecay);
    }
  }

  /**
   * @param params trainable parameters by name (they must require gradients)
   * @param decays which of them receive weight decay
   */
  public AdamW(Map<String, NDArray> params, Predicate<String> decays, Hyper hyper, NDManager parent) {
    if (params.isEmpty()) {
      throw new IllegalArgumentException("no trainable parameters");
    }
    this.params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
    this.hyper = hyper;
    this.manager = parent.newSubManager();
    params.forEach((name, p) -> {
      decay.put(name, decays.test(name));
      expAvg.put(name, manager.zeros(p.getShape()));
      expAvgSq.put(name, manager.zeros(p.getShape()));
    });
  }

  /** Default grouping: matrices decay, vectors (norm weights) do not. */
  public static Predicate<String> matricesDecay(Map<String, NDArray> params) {
    return name -> params.get(name).getShape().dimension() >= 2;
  }

  /** Number of updates applied so far. */
  public long step() {
    return step;
  }

  /**
   * Applies one update with learning rate {@code lr} from the gradients currently held by the
   * parameters, then zeroes those gradients. Call outside any gradient collector.
   */
  public void update(double lr) {
    step++;
    double bc1 = 1 - Math.pow(hyper.beta1(), step);
    double bc2Sqrt = Math.sqrt(1 - Math.pow(hyper.beta2(), step));
    for (var e : params.entrySet()) {
      String name = e.getKey();
      NDArray p = e.getValue();
      try (NDArray g = p.getGradient()) {
        NDArray m = expAvg.get(name);
        NDArray v = expAvgSq.get(name);
        try (NDArray g1 = g.mul((float) (1 - hyper.beta1()));
            NDArray g2 = g.square().muli((float) (1 - hyper.beta2()))) {
          m.muli((float) hyper.beta1()).addi(g1);
          v.muli((float) hyper.beta2()).addi(g2);
        }
        if (decay.get(name) && hyper.weightDecay() > 0) {
          p.muli((float) (1 - lr * hyper.weightDecay()));
        }
        try (NDArray denom = v.sqrt().divi((float) bc2Sqrt).addi((float) hyper.eps());
            NDArray upd = m.div(denom).muli((float) (lr / bc1))) {
          p.subi(upd);
        }
        g.subi(g);
      }
    }
  }

  /** Moment estimates keyed {@code exp_avg.NAME} and {@code exp_avg_sq.NAME}; views, not copies. */
  public Map<String, NDArray> stateTensors() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    expAvg.forEach((n, a) -> out.put("exp_avg." + n, a));
    expAvgSq.forEach((n, a) -> out.put("exp_avg_sq." + n, a));
    return out;
  }

  /** Restores the state written by {@link #stateTensors()} and the update count. */
  public void loadState(Map<String, NDArray> state, long restoredStep) {
    for (String n : params.keySet()) {
      copyInto(state, "exp_avg." + n, expAvg.get(n));
      copyInto(state, "exp_avg_sq." + n, expAvgSq.get(n));
    }
    this.step = restoredStep;
  }

  private static void copyInto(Map<String, NDArray> state, String key, NDArray target) {
    NDArray src = state.get(key);
    if (src == null) {
      throw new IllegalArgumentException("optimizer state is missing tensor '" + key + "'");
    }
    if (!src.getShape().equals(target.getShape())) {
      throw new IllegalArgumentException("optimizer state '" + key + "' has shape " + src.getShape()
          + " but the parameter has " + target.getShape());
    }
    Tensors.copyInto(src, target);
  }

  @Override
  public void close() {
    manager.close();
  }
}
