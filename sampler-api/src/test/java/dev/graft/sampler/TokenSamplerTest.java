package dev.graft.sampler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Token selection on hand-built distributions. */
class TokenSamplerTest {

  private static final int DRAWS = 4000;

  private static float[] logits(double... probs) {
    float[] l = new float[probs.length];
    for (int i = 0; i < probs.length; i++) {
      l[i] = (float) Math.log(probs[i]);
    }
    return l;
  }

  private static Set<Integer> support(float[] logits, float temperature, float topP, int topK) {
    SamplingParams p = new SamplingParams(temperature, topP, topK, 1, null, 0);
    Random rng = new Random(5);
    Set<Integer> seen = new TreeSet<>();
    for (int i = 0; i < DRAWS; i++) {
      seen.add(TokenSampler.choose(logits, p, rng));
    }
    return seen;
  }

  @Test
  void topK_restrictsDrawsToTheKMostLikelyTokens() {
    float[] l = {0.5f, 3f, -1f, 2.9f, 1f, 2.8f, 0f, -2f, 2f, 1.5f};
    assertEquals(Set.of(1, 3, 5), support(l, 1f, 1f, 3));
    assertEquals(Set.of(1), support(l, 1f, 1f, 1));
  }

  @Test
  void topP_keepsTheSmallestPrefixReachingTheMass() {
    float[] l = logits(0.04, 0.5, 0.1, 0.3, 0.06);
    assertEquals(Set.of(1, 3), support(l, 1f, 0.75f, 0));
    assertEquals(Set.of(1, 3, 2), support(l, 1f, 0.85f, 0));
    assertEquals(Set.of(1), support(l, 1f, 0.45f, 0));
  }

  @Test
  void topP_appliesToTheTopKDistributionRenormalised() {
    float[] l = logits(0.4, 0.3, 0.2, 0.1);
    // After top-2 the mass is 4/7 and 3/7: the first token alone reaches 0.5.
    assertEquals(Set.of(0), support(l, 1f, 0.5f, 2));
    assertEquals(Set.of(0, 1), support(l, 1f, 0.5f, 0));
  }

  @Test
  void unfilteredDraws_followSoftmaxOfLogitsOverTemperature() {
    float[] l = {0f, 1f, 2f};
    float t = 2f;
    SamplingParams p = new SamplingParams(t, 1f, 0, 1, null, 0);
    Random rng = new Random(9);
    int[] counts = new int[3];
    int n = 30_000;
    for (int i = 0; i < n; i++) {
      counts[TokenSampler.choose(l, p, rng)]++;
    }
    double z = Math.exp(0) + Math.exp(0.5) + Math.exp(1);
    for (int i = 0; i < 3; i++) {
      assertEquals(Math.exp(l[i] / t) / z, counts[i] / (double) n, 0.012, "token " + i);
    }
  }

  @Test
  void temperatureZero_picksTheArgmax_lowerIdOnTies_withoutDrawing() {
    Random rng = new Random(3);
    SamplingParams greedy = new SamplingParams(0f, 0.5f, 2, 1, null, 0);
    assertEquals(1, TokenSampler.choose(new float[] {1f, 3f, 3f, 2f}, greedy, rng));
    assertEquals(new Random(3).nextLong(), rng.nextLong());
  }

  @Test
  void logProb_isLogSoftmaxOfTheRawLogits() {
    float[] l = {1f, -2f, 0.5f, 4f};
    double z = 0;
    for (float v : l) {
      z += Math.exp(v);
    }
    for (int i = 0; i < l.length; i++) {
      assertEquals(l[i] - Math.log(z), TokenSampler.logProb(l, i), 1e-6);
    }
  }

  @Test
  void descending_ordersByLogitThenLowerId() {
    float[] l = {-1f, 2f, -3.5f, 2f, 0f, -0.25f};
    assertArrayEquals(new int[] {1, 3, 4, 5, 0, 2}, TokenSampler.descending(l));
  }
}
