package dev.graft.sync.subscribe;

import dev.graft.sync.PolicyUpdate;

/** Where a verified policy goes: the sampler's model holder swaps to it atomically. */
public interface PolicyInstaller {

  /**
   * Installs {@code update}, replacing the current policy atomically; in-flight generations finish
   * on the version they started with.
   *
   * @throws IllegalArgumentException when the tensors do not fit the config (the current policy
   *     stays)
   */
  void install(PolicyUpdate update);

  /** The version served now, or -1 before the first install. */
  long currentVersion();
}
