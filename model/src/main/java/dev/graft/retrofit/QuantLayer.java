package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.FakeQuant;
import dev.graft.model.Tensors;
import dev.graft.model.WeightTransform;

/**
 * One layer's α for a {@link QuantRetrofit}, and the weight transform of each of its quantized
 * linears: {@code W_α = (1 − α)·W + α·Q(W)} in value, with a straight-through gradient (∂W_α/∂W is
 * the identity, Q is not differentiated). At α = 0 the layer computes with W itself; at α = 1 with
 * exactly Q(W), the weights an export writes.
 */
final class QuantLayer implements InterpolatedMixer {

  private final FakeQuant quant;
  private double alpha;

  QuantLayer(FakeQuant quant) {
    this.quant = quant;
  }

  @Override
  public double alpha() {
    return alpha;
  }

  @Override
  public void setAlpha(double alpha) {
    this.alpha = InterpolatedMixer.checkAlpha(alpha);
  }

  /** The transform of one linear of this layer, reading this layer's α at every forward pass. */
  WeightTransform transform() {
    return new WeightTransform() {
      @Override
      public NDArray apply(NDArray weight, NDManager manager) {
        return blend(weight, manager, alpha);
      }

      @Override
      public Object state() {
        return alpha;
      }
    };
  }

  /**
   * {@code stopgrad((1 − α)·W + α·Q(W)) + (W − stopgrad(W))}: the blend's value, the identity's
   * gradient.
   */
  NDArray blend(NDArray weight, NDManager manager, double a) {
    if (a == 0) {
      return weight;
    }
    NDArray w = Tensors.viewOn(weight, manager);
    NDArray q = quant.apply(w, manager);
    NDArray value = a == 1 ? q : w.stopGradient().mul((float) (1 - a)).add(q.mul((float) a));
    if (!weight.hasGradient()) {
      return value;
    }
    return value.add(w.sub(w.stopGradient()));
  }
}
