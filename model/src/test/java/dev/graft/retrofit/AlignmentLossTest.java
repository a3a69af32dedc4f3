package dev.graft.retrofit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.data.TokenBatch;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AlignmentLossTest {

  private static final LlamaConfig CFG = LlamaConfig.tiny(61);

  private static TokenBatch tokens() {
    Random rng = new Random(3);
    int[] ids = new int[2 * 9];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = rng.nextInt(61);
    }
    return new TokenBatch(2, 9, ids);
  }

  @Test
  void normalisedMse_isTheRelativeSquaredErrorInDoublePrecision() {
    Random rng = new Random(1);
    float[] y = new float[24];
    float[] t = new float[24];
    double num = 0;
    double den = 0;
    for (int i = 0; i < y.length; i++) {
      y[i] = (float) rng.nextGaussian();
      t[i] = (float) (2 * rng.nextGaussian());
      num += (y[i] - (double) t[i]) * (y[i] - (double) t[i]);
      den += (double) t[i] * t[i];
    }
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray yy = m.create(y, new Shape(2, 3, 4));
      NDArray tt = m.create(t, new Shape(2, 3, 4));
      assertEquals(num / den, AlignmentLoss.normalisedMse(yy, tt).getFloat(), 1e-6 * num / den);
      assertEquals(0f, AlignmentLoss.normalisedMse(tt, tt).getFloat());
      assertEquals(1f, AlignmentLoss.normalisedMse(m.zeros(new Shape(2, 3, 4)), tt).getFloat(), 1e-6);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> AlignmentLoss.normalisedMse(yy, tt.reshape(6, 4)));
      assertEquals("prediction (2, 3, 4) and target (6, 4) differ in shape", e.getMessage());
    }
  }

  @Test
  void maskedNormalisedMse_countsOnlyTheMarkedPositions() {
    Random rng = new Random(2);
    float[] y = new float[2 * 3 * 4];
    float[] t = new float[y.length];
    float[] mask = {1, 1, 0, 1, 0, 0}; // (2, 3): row 0 padded after 2 positions, row 1 after 1
    double num = 0;
    double den = 0;
    for (int i = 0; i < y.length; i++) {
      y[i] = (float) rng.nextGaussian();
      t[i] = (float) (2 * rng.nextGaussian());
      if (mask[i / 4] == 1) {
        num += (y[i] - (double) t[i]) * (y[i] - (double) t[i]);
        den += (double) t[i] * t[i];
      }
    }
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray yy = m.create(y, new Shape(2, 3, 4));
      NDArray tt = m.create(t, new Shape(2, 3, 4));
      NDArray mm = m.create(mask, new Shape(2, 3));
      assertEquals(num / den, AlignmentLoss.normalisedMse(yy, tt, mm).getFloat(), 1e-6 * num / den);
      assertTrue(Math.abs(AlignmentLoss.normalisedMse(yy, tt).getFloat() - num / den) > 1e-3,
          "the padding changes the unmasked loss");
      assertEquals(AlignmentLoss.normalisedMse(yy, tt).getFloat(),
          AlignmentLoss.normalisedMse(yy, tt, m.ones(new Shape(2, 3))).getFloat(), 1e-6);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> AlignmentLoss.normalisedMse(yy, tt, mm.reshape(3, 2)));
      assertEquals("mask (3, 2) must have the shape of prediction (2, 3, 4) without its last axis", e.getMessage());
    }
  }

  @Test
  void mixerLoss_isZeroForAnUnchangedMixer_andPositiveForRandomKvHeads_andKeepsTheAlphas() {
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel teacher = LlamaModel.random(CFG, m, 4);
        RetrofitStudent same = new GqaRetrofit(4, KvInit.MEAN_POOL, 1).build(CFG, teacher.namedParameters(), m);
        RetrofitStudent random = new GqaRetrofit(1, KvInit.RANDOM, 1).build(CFG, teacher.namedParameters(), m);
        RetrofitStudent pooled = new GqaRetrofit(1, KvInit.MEAN_POOL, 1).build(CFG, teacher.namedParameters(), m)) {
      Map<Integer, Double> zero = AlignmentLoss.mixerLoss(same, tokens());
      assertEquals(List.of(0, 1), List.copyOf(zero.keySet()));
      zero.values().forEach(v -> assertEquals(0.0, v, 1e-10));
      random.setAlphas(new double[] {0.25, 0.5});
      Map<Integer, Double> r = AlignmentLoss.mixerLoss(random, tokens());
      assertEquals(List.of(0.25, 0.5), java.util.Arrays.stream(random.alphas()).boxed().toList());
      Map<Integer, Double> p = AlignmentLoss.mixerLoss(pooled, tokens());
      for (int layer : List.of(0, 1)) {
        assertTrue(r.get(layer) > 0.05, "random kv heads, layer " + layer + ": " + r.get(layer));
        assertTrue(p.get(layer) < r.get(layer), "mean-pooled kv heads start closer to the teacher, layer "
            + layer + ": " + p.get(layer) + " vs " + r.get(layer));
      }
    }
  }

  @Test
  void convertedLayers_followWhatTheRetrofitChanges() {
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel teacher = LlamaModel.random(CFG, m, 4);
        RetrofitStudent window = new WindowRetrofit(4, 1, List.of(1)).build(CFG, teacher.namedParameters(), m);
        RetrofitStudent mlpQuant = new QuantRetrofit(8, QuantRetrofit.Granularity.PER_CHANNEL, 0,
            List.of("gate_proj", "up_proj")).build(CFG, teacher.namedParameters(), m);
        RetrofitStudent attnQuant = new QuantRetrofit(8, QuantRetrofit.Granularity.PER_CHANNEL, 0,
            List.of("o_proj")).build(CFG, teacher.namedParameters(), m)) {
      assertEquals(List.of(1), window.convertedMixers());
      assertEquals(List.of(1), window.convertedBlocks());
      assertEquals(List.of(), mlpQuant.convertedMixers());
      assertEquals(List.of(0, 1), mlpQuant.convertedBlocks());
      assertEquals(List.of(0, 1), attnQuant.convertedMixers());
    }
  }
}
