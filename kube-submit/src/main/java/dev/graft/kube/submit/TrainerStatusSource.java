package dev.graft.kube.submit;

import dev.graft.proto.v1.TrainerStatus;

/** Where a submitted run's status comes from: the trainer's status service, reached somehow. */
public interface TrainerStatusSource extends AutoCloseable {

  /**
   * The trainer's current status.
   *
   * @throws RuntimeException when the trainer cannot be reached now (the caller tries again)
   */
  TrainerStatus get();

  @Override
  void close();
}
