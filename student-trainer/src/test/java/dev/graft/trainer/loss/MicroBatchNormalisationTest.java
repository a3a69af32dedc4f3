package dev.graft.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.graft.model.Scalars;
import dev.graft.trainer.loss.LossFixtures.Problem;
import dev.graft.trainer.loss.LossFixtures.TopKData;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The documented convention, sum of {@link DistillationLoss#sum} (or {@link TokenLoss}) over
 * micro-batches divided by the whole batch's unmasked count, gives the batch's loss and gradient
 * however the batch is split. The student is a linear map logits = x·W so that, as in training, the
 * gradient of a shared parameter accumulates over micro-batches.
 */
class MicroBatchNormalisationTest {

  private static final int B = 4;
  private static final int T = 3;
  private static final int V = 6;
  private static final float TAU = 2f;

  /** Rows with 3, 1, 0 and 2 unmasked positions. */
  private static final float[] MASK = {1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0};

  private static final int COUNT = 6;
  private static final int[][] SPLITS = {{1, 3}, {2, 2}, {1, 1, 1, 1}, {3, 1}};

  /** The loss over the whole batch and the gradient wrt W. */
  record Outcome(double loss, float[] gradient) {}

  /** What one micro-batch of rows [from, to) adds to the loss before normalisation. */
  interface MicroLoss {
    NDArray sum(NDManager m, NDArray logits, int from, int to);
  }

  static Stream<Arguments> objectives() {
    return LossFixtures.divergences()
        .flatMap(d -> Stream.of(Arguments.of(d.spec(), false), Arguments.of(d.spec(), true)));
  }

  @ParameterizedTest(name = "{0}, top-k {1}")
  @MethodSource("objectives")
  void distillation_sumOverMicroBatchesDividedByBatchCount_equalsWholeBatch(
      String spec, boolean top) {
    Divergence d = Divergence.parse(spec);
    Problem p = LossFixtures.random(600, B, T, V, TAU, 2.0).withMask(MASK);
    TopKData topK = top ? LossFixtures.topK(p, 2) : null;
    MicroLoss loss =
        (m, logits, from, to) -> {
          Problem rows = rows(p, from, to);
          return DistillationLoss.sum(
              d,
              logits,
              LossFixtures.targets(m, rows, rows(topK, from, to)),
              m.create(rows.mask(), new Shape(to - from, T)),
              TAU);
        };
    assertSplitsAgree(loss);
  }

  @ParameterizedTest(name = "split {index}")
  @MethodSource("splits")
  void tokenLoss_sumOverMicroBatchesDividedByBatchCount_equalsWholeBatch(int[] split) {
    long[] targets = new long[B * T];
    Random rnd = new Random(8);
    for (int i = 0; i < targets.length; i++) {
      targets[i] = rnd.nextInt(V);
    }
    MicroLoss loss =
        (m, logits, from, to) ->
            TokenLoss.crossEntropySum(
                logits,
                m.create(Arrays.copyOfRange(targets, from * T, to * T), new Shape(to - from, T)),
                m.create(Arrays.copyOfRange(MASK, from * T, to * T), new Shape(to - from, T)));
    Outcome whole = run(loss, new int[] {B});
    Outcome parts = run(loss, split);
    assertEquals(whole.loss(), parts.loss(), 1e-6);
    for (int i = 0; i < whole.gradient().length; i++) {
      assertEquals(whole.gradient()[i], parts.gradient()[i], 1e-6, "gradient[" + i + "]");
    }
  }

  static Stream<int[]> splits() {
    return Arrays.stream(SPLITS);
  }

  private static void assertSplitsAgree(MicroLoss loss) {
    Outcome whole = run(loss, new int[] {B});
    assertTrue(whole.loss() > 0.01, "the example must have a loss to split: " + whole.loss());
    for (int[] split : SPLITS) {
      Outcome parts = run(loss, split);
      String name = "split " + Arrays.toString(split);
      assertEquals(whole.loss(), parts.loss(), 1e-6, name + " loss");
      for (int i = 0; i < whole.gradient().length; i++) {
        assertEquals(whole.gradient()[i], parts.gradient()[i], 1e-6, name + " gradient[" + i + "]");
      }
    }
    // The example is sensitive to the convention: a mean of per-micro-batch means (rows 0-1 hold
    // 4 unmasked positions, rows 2-3 hold 2) differs.
    double meanOfMeans = (run(loss, new int[] {2}, 4).loss() + run(loss, 2, 2).loss()) / 2;
    assertTrue(Math.abs(meanOfMeans - whole.loss()) > 1e-3, "uneven masks must matter");
  }

  /** Rows [0, B) split into consecutive micro-batches of the given sizes, each divided by COUNT. */
  private static Outcome run(MicroLoss loss, int[] sizes) {
    return run(loss, sizes, COUNT);
  }

  /** One micro-batch, rows [from, B), divided by {@code count}. */
  private static Outcome run(MicroLoss loss, int from, int count) {
    return runRows(loss, new int[] {from, B}, count);
  }

  private static Outcome run(MicroLoss loss, int[] sizes, int count) {
    int[] bounds = new int[sizes.length + 1];
    for (int i = 0; i < sizes.length; i++) {
      bounds[i + 1] = bounds[i] + sizes[i];
    }
    return runRows(loss, bounds, count);
  }

  /** Micro-batches [bounds[i], bounds[i+1]); gradients accumulate in W across collectors. */
  private static Outcome runRows(MicroLoss loss, int[] bounds, int count) {
    Random rnd = new Random(9);
    float[] x = new float[B * T * V];
    float[] w = new float[V * V];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rnd.nextGaussian();
    }
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) rnd.nextGaussian();
    }
    try (NDManager root = NDManager.newBaseManager()) {
      NDArray weights = root.create(w, new Shape(V, V));
      weights.setRequiresGradient(true);
      double total = 0;
      for (int i = 0; i + 1 < bounds.length; i++) {
        int from = bounds[i];
        int to = bounds[i + 1];
        try (NDManager m = root.newSubManager();
            GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          NDArray input =
              m.create(Arrays.copyOfRange(x, from * T * V, to * T * V), new Shape(to - from, T, V));
          NDArray logits = input.matMul(weights); // (b, T, V)
          NDArray normalised = Scalars.div(loss.sum(m, logits, from, to), count);
          gc.backward(normalised);
          total += normalised.getFloat();
        }
      }
      return new Outcome(total, weights.getGradient().toFloatArray());
    }
  }

  private static Problem rows(Problem p, int from, int to) {
    int v = p.v();
    int t = p.t();
    return new Problem(
        to - from,
        t,
        v,
        p.tau(),
        Arrays.copyOfRange(p.logits(), from * t * v, to * t * v),
        Arrays.copyOfRange(p.teacher(), from * t * v, to * t * v),
        Arrays.copyOfRange(p.mask(), from * t, to * t));
  }

  private static TopKData rows(TopKData top, int from, int to) {
    if (top == null) {
      return null;
    }
    int k = top.k();
    return new TopKData(
        k,
        Arrays.copyOfRange(top.ids(), from * T * k, to * T * k),
        Arrays.copyOfRange(top.logProbs(), from * T * k, to * T * k),
        Arrays.copyOfRange(top.logTail(), from * T, to * T));
  }
}
