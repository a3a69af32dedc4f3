package dev.graft.teacher;

import dev.graft.data.TokenBatch;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which output the teacher returns at each position: log-probabilities of
 * {@code softmax(logits / temperature)}, or ({@link HiddenStates}) chosen layers' hidden states.
 */
public sealed interface ScoreRequest {

  /** The temperature the teacher's logits are divided by; finite and &gt; 0. */
  float temperature();

  /** The k most likely tokens with their log-probs, plus the log of the remaining mass. */
  record TopK(int k, float temperature) implements ScoreRequest {
    public TopK {
      if (k < 1) {
        throw new IllegalArgumentException("top-k needs k >= 1, got " + k);
      }
      ScoreRequest.checkTemperature(temperature);
    }
  }

  /** The whole next-token distribution. */
  record Full(float temperature) implements ScoreRequest {
    public Full {
      ScoreRequest.checkTemperature(temperature);
    }
  }

  /**
   * The log-prob of one given token per position.
   *
   * @param targets B rows of T ids, the same shape as the scored tokens
   */
  record Targets(TokenBatch targets, float temperature) implements ScoreRequest {
    public Targets {
      ScoreRequest.checkTemperature(temperature);
    }
  }

  /**
   * Chosen decoder layers' hidden states, from one forward pass (the staged alignment's targets).
   * Layer i's input is the residual stream entering it (the embeddings for i = 0), its mixer input
   * is that stream after the layer's attention norm, its mixer output what the attention returns
   * (before the residual add), its output the residual stream leaving it. The answer is a
   * {@link Scores.HiddenStates} with the layers in this order.
   *
   * @param layers layer indices, at least one, none negative or repeated (the teacher refuses an
   *     index outside its layers)
   */
  record HiddenStates(List<Integer> layers, boolean layerInput, boolean mixerInput,
      boolean layerOutput, boolean mixerOutput) implements ScoreRequest {
    public HiddenStates {
      if (layers == null || layers.isEmpty()) {
        throw new IllegalArgumentException("hidden states need at least one layer index");
      }
      layers = List.copyOf(layers);
      Set<Integer> seen = new HashSet<>();
      for (int layer : layers) {
        if (layer < 0) {
          throw new IllegalArgumentException("layer index " + layer + " is negative");
        }
        if (!seen.add(layer)) {
          throw new IllegalArgumentException("layer index " + layer + " is listed twice");
        }
      }
      if (!layerInput && !mixerInput && !layerOutput && !mixerOutput) {
        throw new IllegalArgumentException("hidden states need at least one of layer_input,"
            + " mixer_input, mixer_output or layer_output");
      }
    }

    /** Without the mixer output. */
    public HiddenStates(List<Integer> layers, boolean layerInput, boolean mixerInput, boolean layerOutput) {
      this(layers, layerInput, mixerInput, layerOutput, false);
    }

    /** Points per layer: how many of layer input, mixer input, mixer output and layer output are asked for. */
    public int points() {
      return (layerInput ? 1 : 0) + (mixerInput ? 1 : 0) + (mixerOutput ? 1 : 0) + (layerOutput ? 1 : 0);
    }

    /** Hidden states carry no distribution: always 1. */
    @Override
    public float temperature() {
      return 1f;
    }
  }

  private static void checkTemperature(float t) {
    if (!(t > 0) || Float.isInfinite(t)) {
      throw new IllegalArgumentException("temperature must be finite and > 0, got " + t);
    }
  }
}
