package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.data.TokenBatch;
import dev.graft.model.DecoderLayer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The loss of the staged alignment (MOHAWK stages 1 and 2): how far a student layer's output is
 * from the teacher's on the same input, as a mean squared error normalised by the target's mean
 * square,
 *
 * <pre>
 * L = mean((y − t)²) / mean(t²)        (y the student's output, t the teacher's, over B·T·D)
 * </pre>
 *
 * so that 0 is a perfect match, 1 is what an all-zero output scores, and layers whose outputs have
 * different scales (the residual stream grows with depth) are weighed alike. A step's objective
 * is the sum of its layers' losses.
 */
public final class AlignmentLoss {

  /** Keeps the normaliser away from zero for an all-zero target. */
  static final float EPSILON = 1e-12f;

  private AlignmentLoss() {}

  /**
   * {@code mean((prediction − target)²) / mean(target²)}, differentiable in {@code prediction}.
   *
   * @return a scalar in the prediction's manager
   */
  public static NDArray normalisedMse(NDArray prediction, NDArray target) {
    if (!prediction.getShape().equals(target.getShape())) {
      throw new IllegalArgumentException("prediction " + prediction.getShape() + " and target "
          + target.getShape() + " differ in shape");
    }
    NDArray diff = prediction.sub(target);
    NDArray scale = target.square().mean().add(EPSILON);
    return diff.square().mean().div(scale);
  }

  /**
   * {@link #normalisedMse(NDArray, NDArray)} over the positions {@code mask} marks only: both means
   * run over the (B·T·D) entries whose position has mask 1, so padding neither adds error nor
   * dilutes it. With every position marked it equals the unmasked loss.
   *
   * @param mask (B, T) of 0 and 1, with at least one 1
   * @return a scalar in the prediction's manager
   */
  public static NDArray normalisedMse(NDArray prediction, NDArray target, NDArray mask) {
    if (!prediction.getShape().equals(target.getShape())) {
      throw new IllegalArgumentException("prediction " + prediction.getShape() + " and target "
          + target.getShape() + " differ in shape");
    }
    if (prediction.getShape().dimension() < 2
        || !mask.getShape().equals(prediction.getShape().slice(0, prediction.getShape().dimension() - 1))) {
      throw new IllegalArgumentException("mask " + mask.getShape() + " must have the shape of prediction "
          + prediction.getShape() + " without its last axis");
    }
    NDArray m = mask.expandDims(-1);
    NDArray diff = prediction.sub(target).square().mul(m).sum();
    NDArray scale = target.square().mul(m).sum().add(EPSILON);
    return diff.div(scale);
  }

  /**
   * Stage 1's loss of {@code student} now, per converted layer ({@link RetrofitStudent#convertedMixers}):
   * each layer's mixer at α = 1 on the teacher's mixer input against the teacher's mixer output,
   * the teacher being the student at α = 0 (which computes exactly the teacher). The student's αs
   * are restored afterwards. No gradient is recorded.
   *
   * @return layer index → normalised MSE, in ascending layer order
   */
  public static Map<Integer, Double> mixerLoss(RetrofitStudent student, TokenBatch tokens) {
    List<Integer> layers = student.convertedMixers();
    double[] alphas = student.alphas();
    Map<Integer, Double> out = new LinkedHashMap<>();
    try (NDManager m = student.model().manager().newSubManager()) {
      NDArray[][] teacher = new NDArray[student.model().layers().size()][];
      student.setAllAlphas(0);
      student.model().backbone().forwardCapturing(tokens.toNDArray(m), student.model().layers().size(),
          (layer, in, mixerIn, mixerOut, o) -> {
            if (layers.contains(layer)) { // copied out of the layer's scope
              teacher[layer] = new NDArray[] {mixerIn.duplicate(), mixerOut.duplicate()};
              teacher[layer][0].attach(m);
              teacher[layer][1].attach(m);
            }
          });
      student.setAllAlphas(1);
      for (int i : layers) {
        DecoderLayer layer = student.model().layers().get(i);
        out.put(i, (double) normalisedMse(layer.mixer().forward(teacher[i][0]), teacher[i][1]).getFloat());
      }
    } finally {
      student.setAlphas(alphas);
    }
    return out;
  }
}
