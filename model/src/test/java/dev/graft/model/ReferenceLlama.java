package dev.graft.model;

import java.util.Map;

/**
 * The Llama decoder's forward pass in double precision with explicit loops, written from the
 * equations of Meta's reference {@code model.py} and Hugging Face's {@code LlamaForCausalLM}:
 * {@code h = x + attn(rmsnorm(x)); out = h + down(silu(gate(rmsnorm(h))) * up(rmsnorm(h)))},
 * a final RMSNorm and the output head (the embedding when tied). Attention is
 * {@link AttentionTest#naive} (which takes its input rounded to float). Shares no code with the
 * model.
 */
final class ReferenceLlama {

  private ReferenceLlama() {}

  /** Logits (T, V) of one sequence, from tensors under their Hugging Face names. */
  static double[][] logits(LlamaConfig cfg, Map<String, float[]> w, long[] ids) {
    int t = ids.length;
    int d = cfg.hiddenSize();
    float[] embed = w.get("model.embed_tokens.weight");
    double[][] h = new double[t][d];
    for (int i = 0; i < t; i++) {
      for (int c = 0; c < d; c++) {
        h[i][c] = embed[(int) ids[i] * d + c];
      }
    }
    for (int l = 0; l < cfg.numHiddenLayers(); l++) {
      String p = "model.layers." + l + ".";
      double[][] x = rmsNorm(h, w.get(p + "input_layernorm.weight"), cfg.rmsNormEps());
      double[] attn = AttentionTest.naive(toFloats(x), w.get(p + "self_attn.q_proj.weight"),
          w.get(p + "self_attn.k_proj.weight"), w.get(p + "self_attn.v_proj.weight"),
          w.get(p + "self_attn.o_proj.weight"), 1, t, d, cfg.numAttentionHeads(), cfg.numKeyValueHeads(),
          cfg.ropeTheta());
      for (int i = 0; i < t; i++) {
        for (int c = 0; c < d; c++) {
          h[i][c] += attn[i * d + c];
        }
      }
      double[][] y = rmsNorm(h, w.get(p + "post_attention_layernorm.weight"), cfg.rmsNormEps());
      double[][] gate = matmul(y, w.get(p + "mlp.gate_proj.weight"), cfg.intermediateSize());
      double[][] up = matmul(y, w.get(p + "mlp.up_proj.weight"), cfg.intermediateSize());
      for (int i = 0; i < t; i++) {
        for (int j = 0; j < cfg.intermediateSize(); j++) {
          double g = gate[i][j];
          gate[i][j] = g / (1 + Math.exp(-g)) * up[i][j]; // silu(gate) * up
        }
      }
      double[][] down = matmul(gate, w.get(p + "mlp.down_proj.weight"), d);
      for (int i = 0; i < t; i++) {
        for (int c = 0; c < d; c++) {
          h[i][c] += down[i][c];
        }
      }
    }
    double[][] out = rmsNorm(h, w.get("model.norm.weight"), cfg.rmsNormEps());
    float[] head = cfg.tieWordEmbeddings() ? embed : w.get("lm_head.weight");
    return matmul(out, head, cfg.vocabSize());
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

  /** x (T, in) times the transpose of a row-major (out, in) weight. */
  private static double[][] matmul(double[][] x, float[] weight, int out) {
    int in = x[0].length;
    double[][] y = new double[x.length][out];
    for (int i = 0; i < x.length; i++) {
      for (int o = 0; o < out; o++) {
        double s = 0;
        for (int c = 0; c < in; c++) {
          s += x[i][c] * weight[o * in + c];
        }
        y[i][o] = s;
      }
    }
    return y;
  }

  private static float[] toFloats(double[][] x) {
    float[] f = new float[x.length * x[0].length];
    for (int i = 0; i < x.length; i++) {
      for (int c = 0; c < x[i].length; c++) {
        f[i * x[i].length + c] = (float) x[i][c];
      }
    }
    return f;
  }
}
