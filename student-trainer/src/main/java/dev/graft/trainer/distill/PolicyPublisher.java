package dev.graft.trainer.distill;

import dev.graft.sync.PolicyUpdate;

/** Where the trainer sends each new policy version (the weight-sync publisher, or a test double). */
@FunctionalInterface
public interface PolicyPublisher {

  /** Publishes a complete version; versions increase. */
  void publish(PolicyUpdate update);
}
