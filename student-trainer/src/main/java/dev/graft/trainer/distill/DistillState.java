package dev.graft.trainer.distill;

/**
 * What a distillation checkpoint records besides weights and optimizer moments: enough to
 * continue the run exactly and to refuse continuing it under a different config or teacher.
 *
 * @param step the last completed step
 * @param dataEpoch data position: epoch of the next batch
 * @param dataIndex data position: index within that epoch's order
 * @param tokensSeen training positions consumed so far
 * @param seed the data-order seed
 * @param configFingerprint digest of the sections that define the optimisation
 * @param teacherFingerprint the teacher model's fingerprint
 * @param lastLoss the loss of the last completed step
 */
public record DistillState(long step, int dataEpoch, int dataIndex, long tokensSeen, long seed,
    String configFingerprint, String teacherFingerprint, double lastLoss) {

  /**
   * @throws IllegalArgumentException when this checkpoint was written by a different run
   */
  public void requireCompatible(String config, String teacher) {
    if (!configFingerprint.equals(config)) {
      throw new IllegalArgumentException("the run directory holds a checkpoint (step " + step
          + ") of a run with a different retrofit/loss/data/train config; use another output"
          + " directory, the same config to resume, or --fresh to start over");
    }
    if (!teacherFingerprint.equals(teacher)) {
      throw new IllegalArgumentException("the run directory holds a checkpoint (step " + step
          + ") made against teacher " + teacherFingerprint + " but the teacher now is " + teacher);
    }
  }
}
