package dev.graft.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Attention against a naive double-precision reference written from the equations. */
class AttentionTest {

  private static NDManager manager;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  @ParameterizedTest(name = "heads={0} kvHeads={1}")
  @CsvSource({"4,4", "4,2", "4,1"})
  void forward_randomInputs_matchesNaiveReference(int heads, int kvHeads) {
    int d = 32;
    int t = 7;
    int b = 2;
    LlamaConfig cfg = new LlamaConfig(50, d, 64, 1, heads, kvHeads, 16, 1e-5, 500.0, false, 0, 1);
    int hd = cfg.headDim();
    Random rng = new Random(42);
    float[] x = gaussian(rng, b * t * d, 1.0);
    float[] wq = gaussian(rng, d * d, 0.3);
    float[] wk = gaussian(rng, kvHeads * hd * d, 0.3);
    float[] wv = gaussian(rng, kvHeads * hd * d, 0.3);
    float[] wo = gaussian(rng, d * d, 0.3);
    try (NDManager m = manager.newSubManager();
        RotaryEmbedding rope = new RotaryEmbedding(m, hd, 16, 500.0)) {
      Attention attn = new Attention(cfg,
          new Linear(m.create(wq, new Shape(d, d))),
          new Linear(m.create(wk, new Shape(kvHeads * hd, d))),
          new Linear(m.create(wv, new Shape(kvHeads * hd, d))),
          new Linear(m.create(wo, new Shape(d, d))), rope);
      float[] got = attn.forward(m.create(x, new Shape(b, t, d))).toFloatArray();
      double[] want = naive(cfg, x, wq, wk, wv, wo, b, t);
      double maxErr = 0;
      for (int i = 0; i < got.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
      }
      assertTrue(maxErr < 1e-4, "max |attention - reference| = " + maxErr);
    }
  }

  /**
   * Attention of each batch row by {@link ReferenceLlama}'s double-precision attention (written
   * from the equations, sharing no code with the model), output projection included.
   */
  static double[] naive(LlamaConfig cfg, float[] x, float[] wq, float[] wk, float[] wv, float[] wo, int b,
      int t) {
    int d = cfg.hiddenSize();
    String p = "model.layers.0.self_attn.";
    Map<String, float[]> w = Map.of(p + "q_proj.weight", wq, p + "k_proj.weight", wk, p + "v_proj.weight", wv,
        p + "o_proj.weight", wo);
    double[] inv = ReferenceLlama.inverseFrequencies(cfg);
    double[] out = new double[b * t * d];
    for (int bi = 0; bi < b; bi++) {
      double[][] rows = new double[t][d];
      for (int i = 0; i < t; i++) {
        for (int c = 0; c < d; c++) {
          rows[i][c] = x[(bi * t + i) * d + c];
        }
      }
      double[][] y = ReferenceLlama.attention(cfg, w, p, rows, inv);
      for (int i = 0; i < t; i++) {
        System.arraycopy(y[i], 0, out, (bi * t + i) * d, d);
      }
    }
    return out;
  }

  static float[] gaussian(Random rng, int n, double std) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (rng.nextGaussian() * std);
    }
    return a;
  }

  @ParameterizedTest(name = "offset={0}")
  @CsvSource({"0", "5", "40"})
  void rope_dotProduct_dependsOnlyOnRelativePosition(int offset) {
    int hd = 16;
    Random rng = new Random(7);
    float[] q = gaussian(rng, hd, 1.0);
    float[] k = gaussian(rng, hd, 1.0);
    try (NDManager m = manager.newSubManager();
        RotaryEmbedding rope = new RotaryEmbedding(m, hd, 64, 10000.0)) {
      // Query at position offset+3, key at offset: the score must equal that at positions (3, 0).
      double ref = dot(rotateAt(m, rope, q, 3), rotateAt(m, rope, k, 0));
      double got = dot(rotateAt(m, rope, q, offset + 3), rotateAt(m, rope, k, offset));
      assertEquals(ref, got, 1e-4);
      double other = dot(rotateAt(m, rope, q, offset + 4), rotateAt(m, rope, k, offset));
      assertTrue(Math.abs(other - ref) > 1e-3, "a different distance must change the score");
    }
  }

  private static float[] rotateAt(NDManager m, RotaryEmbedding rope, float[] v, int pos) {
    NDArray a = m.create(v, new Shape(1, 1, 1, v.length));
    return rope.apply(a, pos).toFloatArray();
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }
}
