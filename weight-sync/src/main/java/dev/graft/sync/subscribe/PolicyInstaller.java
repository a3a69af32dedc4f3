package dev.graft.sync.subscribe;

import dev.graft.sync.PolicyUpdate;

/** Where a verified policy goes: the sampler's model holder swaps to it atomically. */
public interface PolicyInstaller {

  /**
   * Installs {@code update}, replacing the current policy atomically; in-flight generations finish
   * on the version they started with. Within one epoch versions only grow; an update of another
   * epoch (a new run of the trainer) replaces whatever was served.
   *
   * @throws IllegalArgumentException when the tensors do not fit the config (the current policy
   *     stays)
   */
  void install(PolicyUpdate update);

  /** The version served now, or -1 before the first install and after {@link #retire}. */
  long currentVersion();

  /** The epoch of the version served now, or 0 when none is served. */
  long currentEpoch();

  /**
   * Stops serving the current policy because the trainer now runs {@code newEpoch}: the old
   * policy is another run's, and nothing may be generated from it any more. In-flight
   * generations finish; new ones wait for a version of the new epoch.
   */
  void retire(long newEpoch);
}
