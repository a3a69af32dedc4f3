package dev.graft.model;

import java.util.Map;

/**
 * The whole Llama decoder's forward pass in double precision with explicit loops over plain
 * arrays, written from the equations of Meta's reference {@code model.py} and Hugging Face's
 * {@code LlamaForCausalLM} (and {@code modeling_rope_utils} for the scaled frequencies). Shares no
 * code with the model: it reads only the config's numbers and the fp32 weights.
 *
 * <pre>
 *   h = embed[ids]
 *   per layer:  x = rmsnorm(h)
 *               q, k, v = x Wqᵀ + bq, x Wkᵀ + bk, x Wvᵀ + bv        (biases when attention_bias)
 *               q, k = rope(q), rope(k)                              (pairs (c, c + hd/2))
 *               a_h = softmax(q_h k_{h/G}ᵀ / √hd + causal) v_{h/G}    (G = heads / kv heads)
 *               h = h + [a_0 … a_H] Woᵀ + bo
 *               y = rmsnorm(h)
 *               h = h + (silu(y Wgᵀ + bg) ⊙ (y Wuᵀ + bu)) Wdᵀ + bd   (biases when mlp_bias)
 *   logits = rmsnorm(h) Eᵀ                                           (E = embed when tied, else lm_head)
 * </pre>
 */
final class ReferenceLlama {

  private ReferenceLlama() {}

  /** Logits (T, V) of one sequence whose first token is at position 0. */
  static double[][] logits(LlamaConfig cfg, Map<String, float[]> w, long[] ids) {
    double[][] h = hidden(cfg, w, ids);
    float[] head = cfg.tieWordEmbeddings() ? w.get("model.embed_tokens.weight") : w.get("lm_head.weight");
    return project(h, head, null, cfg.vocabSize());
  }

  /** Hidden states (T, D) after the final norm. */
  static double[][] hidden(LlamaConfig cfg, Map<String, float[]> w, long[] ids) {
    int t = ids.length;
    int d = cfg.hiddenSize();
    float[] embed = w.get("model.embed_tokens.weight");
    double[][] h = new double[t][d];
    for (int i = 0; i < t; i++) {
      for (int c = 0; c < d; c++) {
        h[i][c] = embed[(int) ids[i] * d + c];
      }
    }
    double[] inv = inverseFrequencies(cfg);
    for (int l = 0; l < cfg.numHiddenLayers(); l++) {
      String p = "model.layers." + l + ".";
      double[][] x = rmsNorm(h, w.get(p + "input_layernorm.weight"), cfg.rmsNormEps());
      add(h, attention(cfg, w, p + "self_attn.", x, inv));
      double[][] y = rmsNorm(h, w.get(p + "post_attention_layernorm.weight"), cfg.rmsNormEps());
      int ff = cfg.intermediateSize();
      double[][] gate = project(y, w.get(p + "mlp.gate_proj.weight"), w.get(p + "mlp.gate_proj.bias"), ff);
      double[][] up = project(y, w.get(p + "mlp.up_proj.weight"), w.get(p + "mlp.up_proj.bias"), ff);
      for (int i = 0; i < t; i++) {
        for (int j = 0; j < ff; j++) {
          double g = gate[i][j];
          gate[i][j] = g / (1 + Math.exp(-g)) * up[i][j]; // silu(gate) * up
        }
      }
      add(h, project(gate, w.get(p + "mlp.down_proj.weight"), w.get(p + "mlp.down_proj.bias"), d));
    }
    return rmsNorm(h, w.get("model.norm.weight"), cfg.rmsNormEps());
  }

  /** Causal grouped-query attention of x (T, D), output projection included. */
  static double[][] attention(LlamaConfig cfg, Map<String, float[]> w, String p, double[][] x,
      double[] inv) {
    int t = x.length;
    int hd = cfg.headDim();
    int heads = cfg.numAttentionHeads();
    int kvHeads = cfg.numKeyValueHeads();
    int group = heads / kvHeads;
    double[][] q = project(x, w.get(p + "q_proj.weight"), w.get(p + "q_proj.bias"), heads * hd);
    double[][] k = project(x, w.get(p + "k_proj.weight"), w.get(p + "k_proj.bias"), kvHeads * hd);
    double[][] v = project(x, w.get(p + "v_proj.weight"), w.get(p + "v_proj.bias"), kvHeads * hd);
    rotate(q, heads, hd, inv);
    rotate(k, kvHeads, hd, inv);
    double[][] ctx = new double[t][heads * hd];
    for (int h = 0; h < heads; h++) {
      int kvh = h / group;
      for (int i = 0; i < t; i++) {
        double[] s = new double[i + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
          double dot = 0;
          for (int c = 0; c < hd; c++) {
            dot += q[i][h * hd + c] * k[j][kvh * hd + c];
          }
          s[j] = dot / Math.sqrt(hd);
          max = Math.max(max, s[j]);
        }
        double z = 0;
        for (int j = 0; j <= i; j++) {
          s[j] = Math.exp(s[j] - max);
          z += s[j];
        }
        for (int j = 0; j <= i; j++) {
          for (int c = 0; c < hd; c++) {
            ctx[i][h * hd + c] += s[j] / z * v[j][kvh * hd + c];
          }
        }
      }
    }
    return project(ctx, w.get(p + "o_proj.weight"), w.get(p + "o_proj.bias"), cfg.hiddenSize());
  }

  /** Rotates pairs (c, c + hd/2) of every head of the token at position pos by pos·inv[c]. */
  private static void rotate(double[][] y, int nHeads, int hd, double[] inv) {
    int half = hd / 2;
    for (int pos = 0; pos < y.length; pos++) {
      for (int h = 0; h < nHeads; h++) {
        for (int c = 0; c < half; c++) {
          double a = pos * inv[c];
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

  /**
   * The rotary inverse frequencies of the config, in double, from Hugging Face's
   * {@code _compute_default_rope_parameters}, {@code _compute_linear_scaling_rope_parameters} and
   * {@code _compute_llama3_parameters}; dynamic NTK leaves them plain below
   * {@code max_position_embeddings}, which is as far as the model runs.
   */
  static double[] inverseFrequencies(LlamaConfig cfg) {
    int hd = cfg.headDim();
    double[] inv = new double[hd / 2];
    for (int c = 0; c < inv.length; c++) {
      inv[c] = 1 / Math.pow(cfg.ropeTheta(), 2.0 * c / hd);
    }
    RopeScaling s = cfg.ropeScaling();
    if (s instanceof RopeScaling.Linear linear) {
      for (int c = 0; c < inv.length; c++) {
        inv[c] /= linear.factor();
      }
    } else if (s instanceof RopeScaling.Llama3 l) {
      double lowWavelen = l.originalMaxPositionEmbeddings() / l.lowFreqFactor();
      double highWavelen = l.originalMaxPositionEmbeddings() / l.highFreqFactor();
      for (int c = 0; c < inv.length; c++) {
        double wavelen = 2 * Math.PI / inv[c];
        if (wavelen > lowWavelen) {
          inv[c] /= l.factor();
        } else if (wavelen >= highWavelen) {
          double smooth = (l.originalMaxPositionEmbeddings() / wavelen - l.lowFreqFactor())
              / (l.highFreqFactor() - l.lowFreqFactor());
          inv[c] = (1 - smooth) * inv[c] / l.factor() + smooth * inv[c];
        }
      }
    }
    return inv;
  }

  /** x / sqrt(mean(x²) + eps) · weight, per row. */
  private static double[][] rmsNorm(double[][] x, float[] weight, double eps) {
    double[][] y = new double[x.length][];
    for (int i = 0; i < x.length; i++) {
      double ms = 0;
      for (double v : x[i]) {
        ms += v * v;
      }
      double scale = 1 / Math.sqrt(ms / x[i].length + eps);
      y[i] = new double[x[i].length];
      for (int c = 0; c < x[i].length; c++) {
        y[i][c] = x[i][c] * scale * weight[c];
      }
    }
    return y;
  }

  /** x (T, in) times the transpose of a row-major (out, in) weight, plus the bias when non-null. */
  private static double[][] project(double[][] x, float[] weight, float[] bias, int out) {
    int in = x[0].length;
    double[][] y = new double[x.length][out];
    for (int i = 0; i < x.length; i++) {
      for (int o = 0; o < out; o++) {
        double s = bias == null ? 0 : bias[o];
        int row = o * in;
        for (int c = 0; c < in; c++) {
          s += x[i][c] * weight[row + c];
        }
        y[i][o] = s;
      }
    }
    return y;
  }

  private static void add(double[][] h, double[][] delta) {
    for (int i = 0; i < h.length; i++) {
      for (int c = 0; c < h[i].length; c++) {
        h[i][c] += delta[i][c];
      }
    }
  }
}
