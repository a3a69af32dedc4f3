package dev.graft.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.graft.model.LlamaConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Weights for the tiny preset, including bit patterns a lossy transfer would change. */
public final class SyncFixtures {

  public static final LlamaConfig CONFIG = LlamaConfig.tiny(64);

  private SyncFixtures() {}

  /** Random weights, seeded; the first tensor starts with NaN-with-payload, -0, a subnormal. */
  public static Map<String, float[]> weights(long seed) {
    Random random = new Random(seed);
    Map<String, float[]> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, List<Long>> e : CONFIG.tensorShapes().entrySet()) {
      float[] values = new float[(int) TensorEntry.elementCount(e.getValue())];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) random.nextGaussian();
      }
      tensors.put(e.getKey(), values);
    }
    float[] first = tensors.values().iterator().next();
    first[0] = Float.intBitsToFloat(0x7fc01234);
    first[1] = -0.0f;
    first[2] = Float.MIN_VALUE;
    return tensors;
  }

  public static PolicyUpdate update(long version, long seed) {
    return new PolicyUpdate(version, CONFIG, weights(seed));
  }

  /** Asserts every tensor of {@code actual} has exactly the bits of {@code expected}. */
  public static void assertBitIdentical(Map<String, float[]> expected, Map<String, float[]> actual) {
    assertEquals(expected.keySet(), actual.keySet());
    for (Map.Entry<String, float[]> e : expected.entrySet()) {
      float[] got = actual.get(e.getKey());
      assertNotNull(got, e.getKey());
      assertEquals(e.getValue().length, got.length, e.getKey());
      for (int i = 0; i < got.length; i++) {
        if (Float.floatToRawIntBits(e.getValue()[i]) != Float.floatToRawIntBits(got[i])) {
          throw new AssertionError(e.getKey() + "[" + i + "]: expected bits "
              + Integer.toHexString(Float.floatToRawIntBits(e.getValue()[i])) + " but got "
              + Integer.toHexString(Float.floatToRawIntBits(got[i])));
        }
      }
    }
  }
}
