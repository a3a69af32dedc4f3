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
 * @param teacherSamplers samplers serving the teacher, for teacher-continuation rows ({@code seqkd});
 *     null without them
 */
public record Peers(TeacherScorer teacher, RolloutSource samplers, WeightPublisher policies,
    RolloutSource teacherSamplers) {

  /** Peers without teacher-serving samplers. */
  public Peers(TeacherScorer teacher, RolloutSource samplers, WeightPublisher policies) {
    this(teacher, samplers, policies, null);
  }

  /** The same peers with {@code source} serving the teacher's continuations. */
  public Peers withTeacherSamplers(RolloutSource source) {
    return new Peers(teacher, samplers, policies, source);
  }

  /** An off-policy run's peers: the teacher alone. */
  public static Peers offPolicy(TeacherScorer teacher) {
    return new Peers(teacher, null, null);
  }
}
