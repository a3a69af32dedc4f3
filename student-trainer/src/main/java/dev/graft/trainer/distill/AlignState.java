package dev.graft.trainer.distill;

import java.util.List;

/**
 * What an alignment stage's checkpoint records besides weights and optimizer moments: enough to
 * continue the stage exactly, to refuse continuing it under another config or teacher, and to
 * report the whole stage after a restart.
 *
 * @param stage {@link AlignStage#key()}
 * @param step the last completed step of the stage
 * @param steps the stage's steps in all; {@code step == steps} marks a finished stage
 * @param dataEpoch data position: epoch of the next batch
 * @param dataIndex data position: index within that epoch's order
 * @param positions positions trained so far in this stage
 * @param seconds time spent training this stage so far
 * @param curve the loss of every step so far
 */
public record AlignState(String stage, long step, long steps, int dataEpoch, int dataIndex, long positions,
    double seconds, String configFingerprint, String teacherFingerprint, List<LossPoint> curve) {

  public AlignState {
    curve = List.copyOf(curve);
  }

  /**
   * One step's losses.
   *
   * @param loss the objective: the sum of the layers' losses
   * @param layers each trained layer's normalised MSE, in ascending layer order
   */
  public record LossPoint(long step, double loss, List<Double> layers) {
    public LossPoint {
      layers = List.copyOf(layers);
    }
  }

  /** @throws IllegalArgumentException when this checkpoint was written by a different run */
  void requireCompatible(String config, String teacher) {
    if (!configFingerprint.equals(config)) {
      throw new IllegalArgumentException("the run directory holds an alignment checkpoint (stage " + stage
          + ", step " + step + ") of a run with a different config; use another output directory, the same"
          + " config to resume, or --fresh to start over");
    }
    if (!teacherFingerprint.equals(teacher)) {
      throw new IllegalArgumentException("the run directory holds an alignment checkpoint (stage " + stage
          + ", step " + step + ") made against teacher " + teacherFingerprint + " but the teacher now is "
          + teacher);
    }
  }
}
