package dev.graft.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
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
      double[] want = naive(x, wq, wk, wv, wo, b, t, d, heads, kvHeads, 500.0);
      double maxErr = 0;
      for (int i = 0; i < got.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
      }
      assertTrue(maxErr < 1e-4, "max |attention - reference| = " + maxErr);
    }
  }

  /** Attention computed per head with explicit loops, in double precision. */
  static double[] naive(float[] x, float[] wq, float[] wk, float[] wv, float[] wo,
      int b, int t, int d, int heads, int kvHeads, double theta) {
    int hd = d / heads;
    int group = heads / kvHeads;
    double[] out = new double[b * t * d];
    for (int bi = 0; bi < b; bi++) {
      double[][] q = project(x, wq, bi, t, d, d);
      double[][] k = project(x, wk, bi, t, d, kvHeads * hd);
      double[][] v = project(x, wv, bi, t, d, kvHeads * hd);
      rotate(q, heads, hd, theta);
      rotate(k, kvHeads, hd, theta);
      double[][] ctx = new double[t][d];
      for (int h = 0; h < heads; h++) {
        int kvh = h / group;
        for (int i = 0; i < t; i++) {
          double[] w = new double[i + 1];
          double max = Double.NEGATIVE_INFINITY;
          for (int j = 0; j <= i; j++) {
            double s = 0;
            for (int c = 0; c < hd; c++) {
              s += q[i][h * hd + c] * k[j][kvh * hd + c];
            }
            w[j] = s / Math.sqrt(hd);
            max = Math.max(max, w[j]);
          }
          double z = 0;
          for (int j = 0; j <= i; j++) {
            w[j] = Math.exp(w[j] - max);
            z += w[j];
          }
          for (int j = 0; j <= i; j++) {
            for (int c = 0; c < hd; c++) {
              ctx[i][h * hd + c] += w[j] / z * v[j][kvh * hd + c];
            }
          }
        }
      }
      for (int i = 0; i < t; i++) {
        for (int o = 0; o < d; o++) {
          double s = 0;
          for (int c = 0; c < d; c++) {
            s += ctx[i][c] * wo[o * d + c];
          }
          out[(bi * t + i) * d + o] = s;
        }
      }
    }
    return out;
  }

  private static double[][] project(float[] x, float[] w, int bi, int t, int d, int out) {
    double[][] y = new double[t][out];
    for (int i = 0; i < t; i++) {
      for (int o = 0; o < out; o++) {
        double s = 0;
        for (int c = 0; c < d; c++) {
          s += x[(bi * t + i) * d + c] * w[o * d + c];
        }
        y[i][o] = s;
      }
    }
    return y;
  }

  /** Rotates pairs (c, c + hd/2) of every head by angle pos * theta^(-2c/hd). */
  private static void rotate(double[][] y, int nHeads, int hd, double theta) {
    int half = hd / 2;
    for (int pos = 0; pos < y.length; pos++) {
      for (int h = 0; h < nHeads; h++) {
        for (int c = 0; c < half; c++) {
          double a = pos * Math.pow(theta, -2.0 * c / hd);
          int i1 = h * hd + c;
          int i2 = i1 + half;
          double x1 = y[pos][i1];
          double x2 = y[pos][i2];
          y[pos][i1] = x1 * Math.cos(a) - x2 * Math.sin(a);
          y[pos][i2] = x2 * Math.cos(a) + x1 * Math.sin(a);
        }
      }
    }
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
