package dev.graft.teacher.server;

import ai.djl.ndarray.NDManager;
import dev.graft.data.TokenBatch;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.teacher.TeacherLimits;
import java.util.Random;

/** One tiny random Llama shared by every test in the JVM (building it per test costs time). */
final class TestModels {

  static final int VOCAB = 97;
  static final LlamaConfig CONFIG = LlamaConfig.tiny(VOCAB).withNumKeyValueHeads(2);

  private static LlamaModel model;
  private static LlamaModel otherModel;

  private TestModels() {}

  /** The shared model; it lives until the JVM exits. */
  static synchronized LlamaModel model() {
    if (model == null) {
      model = LlamaModel.random(CONFIG, NDManager.newBaseManager(), 7);
    }
    return model;
  }

  /** A second model of the same architecture and vocabulary with other weights. */
  static synchronized LlamaModel otherModel() {
    if (otherModel == null) {
      otherModel = LlamaModel.random(CONFIG, NDManager.newBaseManager(), 8);
    }
    return otherModel;
  }

  /** A teacher borrowing the shared model. */
  static LocalTeacher teacher(int maxSequenceLength, int maxTokensPerRequest) {
    return new LocalTeacher(model(), new TeacherLimits(maxSequenceLength, maxTokensPerRequest));
  }

  static TokenBatch tokens(int batch, int length, long seed) {
    Random rng = new Random(seed);
    int[] out = new int[batch * length];
    for (int i = 0; i < out.length; i++) {
      out[i] = rng.nextInt(VOCAB);
    }
    return new TokenBatch(batch, length, out);
  }

  static void assertClose(float[] expected, float[] actual, double tolerance) {
    org.junit.jupiter.api.Assertions.assertEquals(expected.length, actual.length, "length");
    for (int i = 0; i < expected.length; i++) {
      if (Math.abs(expected[i] - actual[i]) > tolerance
          && !(Float.isInfinite(expected[i]) && expected[i] == actual[i])) {
        org.junit.jupiter.api.Assertions.fail("at " + i + ": expected " + expected[i] + " but was "
            + actual[i] + " (tolerance " + tolerance + ")");
      }
    }
  }
}
