package dev.graft.teacher;

import dev.graft.data.TokenBatch;

/**
 * Which output the teacher returns at each position, always as log-probabilities of
 * {@code softmax(logits / temperature)}.
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

  private static void checkTemperature(float t) {
    if (!(t > 0) || Float.isInfinite(t)) {
      throw new IllegalArgumentException("temperature must be finite and > 0, got " + t);
    }
  }
}
