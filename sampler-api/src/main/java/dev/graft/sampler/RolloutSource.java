package dev.graft.sampler;

import java.util.List;

/**
 * Generates completions with the current student: the trainer's view of a sampler, in-process or
 * behind gRPC. Thread-safe.
 */
public interface RolloutSource extends AutoCloseable {

  SamplerInfo info();

  /**
   * Completes every prompt; prompt {@code i} is sampled with seed {@code params.seed() + i}.
   * Every rollout of one call comes from one policy version.
   *
   * @throws IllegalArgumentException for bad ids, an over-long prompt or bad parameters
   * @throws SamplerUnavailableException when no sampler can answer
   */
  List<Rollout> generate(List<int[]> prompts, SamplingParams params);

  /**
   * {@link #generate(List, SamplingParams)} on a sampler that serves the fixed checkpoint with
   * {@code modelFingerprint} (the teacher, for sequence-level distillation), and on no other.
   *
   * @throws ModelMismatchException when the sampler serves another model, or follows a trainer
   * @throws IllegalArgumentException for bad ids, an over-long prompt or bad parameters
   * @throws SamplerUnavailableException when no sampler can answer
   */
  default List<Rollout> generate(List<int[]> prompts, SamplingParams params, String modelFingerprint) {
    SamplerInfo info = info();
    if (!info.modelFingerprint().equals(modelFingerprint)) {
      throw ModelMismatchException.of(modelFingerprint, info.modelFingerprint());
    }
    return generate(prompts, params);
  }

  @Override
  void close();
}
