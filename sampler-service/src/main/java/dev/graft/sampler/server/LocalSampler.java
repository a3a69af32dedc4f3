package dev.graft.sampler.server;

import dev.graft.sampler.Rollout;
import dev.graft.sampler.RolloutSource;
import dev.graft.sampler.SamplerInfo;
import dev.graft.sampler.SamplerUnavailableException;
import dev.graft.sampler.SamplingParams;
import java.util.List;

/**
 * A {@link RolloutSource} in this process: a {@link GenerationEngine} over a {@link PolicyHolder},
 * for local mode and tests. Install policies through {@link #policies()}. Thread-safe.
 */
public final class LocalSampler implements RolloutSource {

  private final GenerationEngine engine;
  private final PolicyHolder policies;
  private final boolean owns;

  /** Borrows {@code engine} and its holder; the caller closes them after this sampler. */
  public LocalSampler(GenerationEngine engine, PolicyHolder policies) {
    this(engine, policies, false);
  }

  private LocalSampler(GenerationEngine engine, PolicyHolder policies, boolean owns) {
    this.engine = engine;
    this.policies = policies;
    this.owns = owns;
  }

  /** A sampler that owns a new holder and engine with {@code options}; no policy yet. */
  public static LocalSampler create(GenerationEngine.Options options) {
    PolicyHolder holder = new PolicyHolder();
    return new LocalSampler(new GenerationEngine(holder, options), holder, true);
  }

  /** Where policies go (the weight-sync side installs here). */
  public PolicyHolder policies() {
    return policies;
  }

  public GenerationEngine engine() {
    return engine;
  }

  @Override
  public SamplerInfo info() {
    return engine.info();
  }

  /**
   * @throws IllegalArgumentException for an invalid request
   * @throws SamplerUnavailableException before a policy is installed, when the queue is full,
   *     after close, or when generation fails
   */
  @Override
  public List<Rollout> generate(List<int[]> prompts, SamplingParams params) {
    try {
      return engine.generate(prompts, params);
    } catch (IllegalArgumentException | SamplerUnavailableException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new SamplerUnavailableException("local sampler failed: " + e.getMessage(), e);
    }
  }

  /** Closes the engine (after serving what is queued) and the holder when this sampler owns them. */
  @Override
  public void close() {
    if (owns) {
      engine.close();
      policies.close();
    }
  }
}
