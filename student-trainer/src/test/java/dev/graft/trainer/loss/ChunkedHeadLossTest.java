package dev.graft.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The head and loss a chunk of positions at a time give the loss and every parameter's gradient of
 * the plain forward and backward, on a tiny Llama with tied embeddings (whose gradient gathers
 * from the head and the trunk). Tolerance: 1e-5 relative to each gradient's largest entry (only
 * the order of float32 sums differs), 1e-5 relative on the loss.
 */
class ChunkedHeadLossTest {

  private static final int B = 3;
  private static final int T = 7;
  private static final int V = 53;
  private static final int K = 4;
  private static final float TAU = 1.5f;
  private static final NDManager ROOT = NDManager.newBaseManager();
  private static final LlamaModel MODEL = LlamaModel.random(LlamaConfig.tiny(V), ROOT, 11);

  private final Random rng = new Random(3);
  private final long[] inputs = randomIds(B * T);
  private final long[] dataTargets = randomIds(B * T);
  private final float[] teacher = teacherLogProbs();
  private final float[] mask = mask();

  @AfterAll
  static void close() {
    ROOT.close();
  }

  record Outcome(double loss, Map<String, float[]> gradients) {}

  @ParameterizedTest(name = "{0}, targets {1}")
  @CsvSource({"forward_kl, full", "forward_kl, top_k", "reverse_kl, top_k", "jsd:0.3, full", "ce, none"})
  void chunked_equalsUnchunked_lossAndEveryGradient(String spec, String targets) {
    Divergence d = Divergence.parse(spec);
    Outcome whole = run(d, targets, B * T);
    for (int chunk : new int[] {1, 5}) {
      Outcome part = run(d, targets, chunk);
      assertEquals(whole.loss(), part.loss(), 1e-5 * Math.abs(whole.loss()), "loss at chunk " + chunk);
      for (var e : whole.gradients().entrySet()) {
        float[] a = e.getValue();
        float[] b = part.gradients().get(e.getKey());
        double scale = 0;
        for (float x : a) {
          scale = Math.max(scale, Math.abs(x));
        }
        assertTrue(scale > 0, e.getKey() + " has no gradient");
        for (int i = 0; i < a.length; i++) {
          assertEquals(a[i], b[i], 1e-5 * scale, e.getKey() + "[" + i + "] at chunk " + chunk);
        }
      }
    }
  }

  @Test
  void backward_chunkBelowOne_isRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ChunkedHeadLoss.backward(null, null, null, null, 1f, 0));
    assertEquals("positions per chunk (0) must be >= 1", e.getMessage());
  }

  private Outcome run(Divergence d, String targets, int chunk) {
    for (NDArray p : MODEL.namedParameters().values()) {
      p.setRequiresGradient(true);
      try (NDArray g = p.getGradient()) {
        g.subi(g); // gradients accumulate: start every run from zero
      }
    }
    double loss;
    try (NDManager m = ROOT.newSubManager();
        GradientCollector gc = m.getEngine().newGradientCollector()) {
      NDArray hidden = MODEL.hidden(m.create(inputs, new Shape(B, T))); // (B, T, hidden)
      loss = ChunkedHeadLoss.backward(gc, hidden, MODEL::logits,
          (logits, from, to) -> chunkLoss(d, targets, logits, from, to), 10f, chunk);
    }
    Map<String, float[]> grads = new LinkedHashMap<>();
    MODEL.namedParameters().forEach((name, p) -> {
      try (NDArray g = p.getGradient()) {
        grads.put(name, g.toFloatArray());
      }
    });
    return new Outcome(loss, grads);
  }

  private NDArray chunkLoss(Divergence d, String targets, NDArray logits, int from, int to) {
    NDManager m = logits.getManager();
    int c = to - from;
    NDArray chunkMask = m.create(java.util.Arrays.copyOfRange(mask, from, to), new Shape(1, c));
    if (!d.usesTeacher()) {
      NDArray ids = m.create(java.util.Arrays.copyOfRange(dataTargets, from, to), new Shape(1, c));
      return TokenLoss.crossEntropySum(logits, ids, chunkMask);
    }
    NDArray full = m.create(java.util.Arrays.copyOfRange(teacher, from * V, to * V), new Shape(1, c, V));
    TeacherTargets t = new TeacherTargets.Full(full);
    if (targets.equals("top_k")) {
      NDArray top = full.argSort(2, false).get(":, :, :{}", K); // (1, c, K) int64
      NDArray lp = full.gather(top, 2);
      NDArray tail = full.scatter(top, m.full(top.getShape(), Float.NEGATIVE_INFINITY), 2)
          .exp().sum(new int[] {2}).log();
      t = new TeacherTargets.TopK(top, lp, tail);
    }
    return DistillationLoss.sum(d, logits, t, chunkMask, TAU);
  }

  private long[] randomIds(int n) {
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      out[i] = rng.nextInt(V);
    }
    return out;
  }

  private float[] teacherLogProbs() {
    float[] out = new float[B * T * V];
    for (int p = 0; p < B * T; p++) {
      double max = Double.NEGATIVE_INFINITY;
      double[] z = new double[V];
      for (int v = 0; v < V; v++) {
        z[v] = 2 * rng.nextGaussian();
        max = Math.max(max, z[v]);
      }
      double sum = 0;
      for (double x : z) {
        sum += Math.exp(x - max);
      }
      for (int v = 0; v < V; v++) {
        out[p * V + v] = (float) (z[v] - max - Math.log(sum));
      }
    }
    return out;
  }

  private float[] mask() {
    float[] out = new float[B * T];
    for (int i = 0; i < out.length; i++) {
      out[i] = i % 5 == 3 ? 0 : 1;
    }
    return out;
  }
}
