package dev.graft.kube.submit;

/** How long the trainer has waited on its peers so far: what the sampler autoscaler reacts to. */
@FunctionalInterface
public interface WaitingSignal {

  /** Seconds the trainer has waited on rollouts since it started; never decreases. */
  double waitedSeconds();
}
