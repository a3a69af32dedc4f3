package dev.graft.teacher;

import java.util.List;

/** What the teacher said about B sequences of length T; arrays are row-major. */
public sealed interface Scores {

  int batch();

  int length();

  /**
   * Top-k per position.
   *
   * @param ids (B, T, k) token ids, most likely first
   * @param logProbs (B, T, k) log-probs at {@code ids}
   * @param logTail (B, T) log of the mass outside the top-k; {@code -Infinity} when empty
   */
  record TopK(int batch, int length, int k, int[] ids, float[] logProbs, float[] logTail)
      implements Scores {}

  /** The whole distribution, (B, T, V) log-probs. */
  record Full(int batch, int length, int vocab, float[] logProbs) implements Scores {}

  /** (B, T) log-probs of the requested target ids. */
  record Targets(int batch, int length, float[] logProbs) implements Scores {}

  /**
   * Chosen layers' hidden states, in the order they were asked for.
   *
   * @param hidden the model's hidden size D
   */
  record HiddenStates(int batch, int length, int hidden, List<Layer> layers) implements Scores {
    public HiddenStates {
      layers = List.copyOf(layers);
    }

    /** The states of layer {@code index}; {@link IllegalArgumentException} if it was not asked for. */
    public Layer layer(int index) {
      return layers.stream().filter(l -> l.index() == index).findFirst().orElseThrow(
          () -> new IllegalArgumentException("layer " + index + " was not requested"));
    }
  }

  /**
   * One layer's (B, T, D) hidden states; a point that was not asked for is null.
   *
   * @param input the residual stream entering the layer
   * @param mixerInput the input after the layer's attention norm
   * @param output the residual stream leaving the layer
   * @param mixerOutput what the layer's attention returns, before the residual add
   */
  record Layer(int index, float[] input, float[] mixerInput, float[] output, float[] mixerOutput) {
    /** Without the mixer output. */
    public Layer(int index, float[] input, float[] mixerInput, float[] output) {
      this(index, input, mixerInput, output, null);
    }
  }
}
