package dev.graft.trainer.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AdamWTest {

  /** One scalar step of PyTorch's AdamW, in double precision. */
  private static double[] reference(double p, double m, double v, double g, long t, double lr,
      AdamW.Hyper h, boolean decay) {
    m = h.beta1() * m + (1 - h.beta1()) * g;
    v = h.beta2() * v + (1 - h.beta2()) * g * g;
    if (decay) {
      p *= 1 - lr * h.weightDecay();
    }
    double denom = Math.sqrt(v) / Math.sqrt(1 - Math.pow(h.beta2(), t)) + h.eps();
    p -= lr / (1 - Math.pow(h.beta1(), t)) * m / denom;
    return new double[] {p, m, v};
  }

  @Test
  void update_matchesPyTorchFormula_withDecayOnMatricesOnly() {
    AdamW.Hyper hyper = new AdamW.Hyper(0.9, 0.95, 1e-8, 0.1);
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray w = m.create(new float[] {0.5f, -1.0f, 2.0f, 0.25f}).reshape(2, 2);
      NDArray n = m.create(new float[] {1.0f, 3.0f});
      w.setRequiresGradient(true);
      n.setRequiresGradient(true);
      Map<String, NDArray> params = new LinkedHashMap<>();
      params.put("w", w);
      params.put("n", n);
      double[][] ref = {{0.5, -1.0, 2.0, 0.25, 1.0, 3.0}, new double[6], new double[6]};
      try (AdamW opt = new AdamW(params, AdamW.matricesDecay(params), hyper, m)) {
        for (int step = 1; step <= 3; step++) {
          double lr = 0.01 * step;
          try (GradientCollector gc = m.getEngine().newGradientCollector()) {
            // loss = sum(w^3) + sum(n^2): gradients 3w^2 and 2n
            gc.backward(w.mul(w).mul(w).sum().add(n.square().sum()));
          }
          double[] cur = new double[6];
          float[] wv = w.toFloatArray();
          float[] nv = n.toFloatArray();
          for (int i = 0; i < 6; i++) {
            double p = i < 4 ? wv[i] : nv[i - 4];
            double g = i < 4 ? 3 * p * p : 2 * p;
            double[] r = reference(p, ref[1][i], ref[2][i], g, step, lr, hyper, i < 4);
            cur[i] = r[0];
            ref[1][i] = r[1];
            ref[2][i] = r[2];
          }
          opt.update(lr);
          float[] w2 = w.toFloatArray();
          float[] n2 = n.toFloatArray();
          for (int i = 0; i < 6; i++) {
            assertEquals(cur[i], i < 4 ? w2[i] : n2[i - 4], 1e-6, "param " + i + " at step " + step);
          }
          assertEquals(0f, w.getGradient().abs().sum().getFloat(), "gradients are zeroed after a step");
        }
        assertEquals(3, opt.step());
      }
    }
  }

  @Test
  void loadState_wrongShape_namesTensor() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray w = m.zeros(new ai.djl.ndarray.types.Shape(2, 2));
      w.setRequiresGradient(true);
      try (AdamW opt = new AdamW(Map.of("w", w), s -> true, AdamW.Hyper.defaults(0), m)) {
        Map<String, NDArray> bad = Map.of("exp_avg.w", m.zeros(new ai.djl.ndarray.types.Shape(3)),
            "exp_avg_sq.w", m.zeros(new ai.djl.ndarray.types.Shape(2, 2)));
        var e = assertThrows(IllegalArgumentException.class, () -> opt.loadState(bad, 5));
        assertEquals("optimizer state 'exp_avg.w' has shape (3) but the parameter has (2, 2)", e.getMessage());
      }
    }
  }
}
