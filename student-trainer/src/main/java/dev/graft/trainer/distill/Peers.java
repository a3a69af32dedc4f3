package dev.graft.trainer.distill;

import dev.graft.sampler.RolloutSource;
import dev.graft.sync.publish.WeightPublisher;
import dev.graft.teacher.TeacherScorer;

/**
 * The services a run talks to: in-process, fakes, or gRPC clients of replicas.
 *
 * @param teacher scores training batches, at the run's wire precision
 * @param samplers complete on-policy rows; null for an off-policy run
 * @param policies this run's weight publisher (its epoch names the run); null for an off-policy run
 */
public record Peers(TeacherScorer teacher, RolloutSource samplers, WeightPublisher policies) {

  /** An off-policy run's peers: the teacher alone. */
  public static Peers offPolicy(TeacherScorer teacher) {
    return new Peers(teacher, null, null);
  }
}
