package dev.graft.model;

/**
 * How a model stretches its rotary embeddings beyond the context it was trained on: Hugging Face's
 * {@code rope_scaling} of a {@code LlamaConfig}. Each kind turns the plain inverse frequencies
 * {@code theta^(-2i/headDim)} into the ones the model rotates by, exactly as Hugging Face's
 * {@code ROPE_INIT_FUNCTIONS} do (in float32, as they do); none of these kinds scales the attention
 * ({@code attention_scaling} is 1).
 */
public sealed interface RopeScaling {

  /** Plain rotary embeddings ({@code rope_scaling: null}, or {@code rope_type: default}). */
  RopeScaling NONE = new None();

  /** The {@code rope_type} in {@code config.json}, or "default" for none. */
  String type();

  /**
   * The inverse frequencies for a forward pass over positions [0, seqLen), of which there are
   * headDim/2.
   *
   * @param maxPositions the config's {@code max_position_embeddings}
   */
  float[] inverseFrequencies(int headDim, double theta, int seqLen, int maxPositions);

  /** No scaling. */
  record None() implements RopeScaling {
    @Override
    public String type() {
      return "default";
    }

    @Override
    public float[] inverseFrequencies(int headDim, double theta, int seqLen, int maxPositions) {
      return plain(headDim, theta);
    }
  }

  /**
   * Position interpolation ({@code rope_type: linear}): positions divided by {@code factor},
   * that is every inverse frequency divided by it.
   */
  record Linear(double factor) implements RopeScaling {
    public Linear {
      checkFactor("linear", factor);
    }

    @Override
    public String type() {
      return "linear";
    }

    @Override
    public float[] inverseFrequencies(int headDim, double theta, int seqLen, int maxPositions) {
      float[] f = plain(headDim, theta);
      for (int i = 0; i < f.length; i++) {
        f[i] = f[i] / (float) factor;
      }
      return f;
    }
  }

  /**
   * Llama 3.1's scaling ({@code rope_type: llama3}, Hugging Face's
   * {@code _compute_llama3_parameters}): frequencies whose wavelength is shorter than
   * {@code original / highFreqFactor} stay, those longer than {@code original / lowFreqFactor} are
   * divided by {@code factor}, and those in between are interpolated smoothly between the two.
   */
  record Llama3(double factor, double lowFreqFactor, double highFreqFactor,
      int originalMaxPositionEmbeddings) implements RopeScaling {
    public Llama3 {
      checkFactor("llama3", factor);
      if (!(lowFreqFactor > 0) || !Double.isFinite(lowFreqFactor)) {
        throw new IllegalArgumentException("rope_scaling.low_freq_factor (" + lowFreqFactor + ") must be > 0");
      }
      if (!(highFreqFactor > lowFreqFactor) || !Double.isFinite(highFreqFactor)) {
        throw new IllegalArgumentException("rope_scaling.high_freq_factor (" + highFreqFactor
            + ") must be greater than low_freq_factor (" + lowFreqFactor + ")");
      }
      if (originalMaxPositionEmbeddings <= 0) {
        throw new IllegalArgumentException("rope_scaling.original_max_position_embeddings ("
            + originalMaxPositionEmbeddings + ") must be > 0");
      }
    }

    @Override
    public String type() {
      return "llama3";
    }

    @Override
    public float[] inverseFrequencies(int headDim, double theta, int seqLen, int maxPositions) {
      float[] f = plain(headDim, theta);
      float old = originalMaxPositionEmbeddings;
      float low = (float) lowFreqFactor;
      float high = (float) highFreqFactor;
      float scale = (float) factor;
      float lowFreqWavelen = old / low;
      float highFreqWavelen = old / high;
      for (int i = 0; i < f.length; i++) {
        float wavelen = (float) (2 * Math.PI) / f[i];
        if (wavelen > lowFreqWavelen) {
          f[i] = f[i] / scale;
        } else if (!(wavelen < highFreqWavelen)) { // medium: interpolate
          float smooth = (old / wavelen - low) / (high - low);
          f[i] = (1 - smooth) * f[i] / scale + smooth * f[i];
        }
      }
      return f;
    }
  }

  /**
   * Dynamic NTK scaling ({@code rope_type: dynamic}, Hugging Face's
   * {@code _compute_dynamic_ntk_parameters}): when a pass covers more than
   * {@code max_position_embeddings} positions, theta grows to
   * {@code theta·(factor·seqLen/max − (factor − 1))^(headDim/(headDim − 2))}. Graft refuses
   * positions past {@code max_position_embeddings} (as it does for every config), so within what it
   * runs the frequencies are the plain ones — which is what Hugging Face computes there too.
   */
  record Dynamic(double factor) implements RopeScaling {
    public Dynamic {
      checkFactor("dynamic", factor);
    }

    @Override
    public String type() {
      return "dynamic";
    }

    @Override
    public float[] inverseFrequencies(int headDim, double theta, int seqLen, int maxPositions) {
      if (seqLen <= maxPositions) {
        return plain(headDim, theta);
      }
      double base = theta * Math.pow(factor * seqLen / maxPositions - (factor - 1),
          (double) headDim / (headDim - 2));
      return plain(headDim, base);
    }
  }

  /** {@code 1 / theta^(2i/headDim)} for i in [0, headDim/2), in float32 as Hugging Face computes it. */
  static float[] plain(int headDim, double theta) {
    float[] f = new float[headDim / 2];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) (1.0 / Math.pow(theta, (float) (2 * i) / headDim));
    }
    return f;
  }

  private static void checkFactor(String type, double factor) {
    if (!(factor > 0) || !Double.isFinite(factor)) {
      throw new IllegalArgumentException("rope_scaling.factor (" + factor + ") of rope_type '" + type
          + "' must be > 0");
    }
  }
}
