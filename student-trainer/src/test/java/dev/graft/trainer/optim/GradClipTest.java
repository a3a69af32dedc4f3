package dev.graft.trainer.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GradClipTest {

  @Test
  void clipGlobalNorm_scalesAllGradientsByOneFactor() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray a = m.create(new float[] {1f, 2f});
      NDArray b = m.create(new float[] {3f});
      a.setRequiresGradient(true);
      b.setRequiresGradient(true);
      try (GradientCollector gc = m.getEngine().newGradientCollector()) {
        // gradients: a -> (3, 0) ... use loss = 3*a0 + 4*b0 - 0*a1 => grads (3, 0), (4)
        gc.backward(a.get(0).mul(3).add(b.get(0).mul(4)).add(a.get(1).mul(0)));
      }
      double norm = GradClip.clipGlobalNorm(Map.of("a", a, "b", b), 1.0);
      assertEquals(5.0, norm, 1e-6);
      assertArrayEquals(new float[] {0.6f, 0f}, a.getGradient().toFloatArray(), 1e-5f);
      assertArrayEquals(new float[] {0.8f}, b.getGradient().toFloatArray(), 1e-5f);
      // Below the threshold nothing changes.
      assertEquals(1.0, GradClip.clipGlobalNorm(Map.of("a", a, "b", b), 10.0), 1e-5);
      assertArrayEquals(new float[] {0.8f}, b.getGradient().toFloatArray(), 1e-5f);
    }
  }
}
