package dev.graft.retrofit;

/**
 * A mixer on the path from the teacher's architecture (α = 0, computes exactly what the teacher
 * computes) to the target architecture (α = 1). The interpolation is inside the layer — weights
 * or mixer outputs — never an ensemble of two models' logits.
 */
public interface InterpolatedMixer {

  double alpha();

  void setAlpha(double alpha);

  static double checkAlpha(double alpha) {
    if (!(alpha >= 0 && alpha <= 1)) {
      throw new IllegalArgumentException("alpha (" + alpha + ") must be in [0, 1]");
    }
    return alpha;
  }
}
