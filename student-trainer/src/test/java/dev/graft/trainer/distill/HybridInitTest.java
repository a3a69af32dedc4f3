package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.TokenBatch;
import dev.graft.model.LlamaConfig;
import dev.graft.retrofit.AlignmentLoss;
import dev.graft.retrofit.HybridRetrofit;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.tokenizer.BpeModel;
import dev.graft.tokenizer.GraftTokenizer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The attention initialisation is worth having: on the pretrained tiny teacher and its own text,
 * the stage-1 loss at step 0 — the mean squared error between a converted layer's new mixer and
 * the teacher's attention, both on the teacher's mixer inputs — is lower for the mixer initialised
 * from the attention than for one with random projections of the same scale.
 */
class HybridInitTest {

  @Test
  void attentionInitialisedMixer_isCloserToTheTeacherThanARandomOne() throws Exception {
    LlamaConfig cfg = LlamaConfig.read(TinyTeacher.dir().resolve(HfCheckpoint.CONFIG_FILE));
    HybridRetrofit hybrid = new HybridRetrofit("none", 0, 16, List.of());
    int[] ids;
    try (GraftTokenizer tok = GraftTokenizer.load(TinyTeacher.dir().resolve(BpeModel.TOKENIZER_JSON))) {
      int[] a = tok.encode(TinyTeacher.CORPUS.get(1).text() + " " + TinyTeacher.CORPUS.get(2).text());
      ids = Arrays.copyOf(a, 4 * 64);
    }
    TokenBatch text = new TokenBatch(4, 64, ids);
    try (NDManager m = NDManager.newBaseManager()) {
      Map<String, NDArray> tensors = HfCheckpoint.loadTensors(TinyTeacher.dir(), cfg, m);
      try (RetrofitStudent init = hybrid.build(cfg, tensors, m);
          RetrofitStudent random = hybrid.build(cfg, tensors, m)) {
        randomise(random, m);
        Map<Integer, Double> fromAttention = AlignmentLoss.mixerLoss(init, text);
        Map<Integer, Double> fromRandom = AlignmentLoss.mixerLoss(random, text);
        assertEquals(cfg.numHiddenLayers(), fromAttention.size(), "every layer is converted");
        for (int layer = 0; layer < cfg.numHiddenLayers(); layer++) {
          double a = fromAttention.get(layer);
          double r = fromRandom.get(layer);
          assertTrue(a < r, "layer " + layer + ": attention-initialised stage-1 loss " + a
              + " must be below a random mixer's " + r);
          // The loss is normalised by the target's mean square: 1 is what a mixer that outputs nothing scores.
          assertTrue(a < 0.9, "layer " + layer + ": attention-initialised stage-1 loss " + a
              + " must be well below that of a mixer that outputs nothing (1)");
        }
      }
    }
  }

  /** Replaces C, B, x and the output projection of every converted layer by N(0, σ²) of the teacher's σ. */
  private static void randomise(RetrofitStudent student, NDManager m) {
    Random rng = new Random(11);
    Map<String, NDArray> replace = new LinkedHashMap<>();
    student.parameters().forEach((n, p) -> {
      if (n.contains("self_attn.") && n.endsWith("_proj.weight") && !n.contains("a_proj")) {
        double std = Math.sqrt(p.square().mean().getFloat());
        float[] v = new float[(int) p.getShape().size()];
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (rng.nextGaussian() * std);
        }
        replace.put(n, m.create(v, p.getShape()));
      }
    });
    replace.forEach((n, v) -> student.model().replaceParameter(n, v));
  }
}
