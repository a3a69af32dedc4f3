package dev.graft.trainer.distill;

/** What this run has published: its epoch and its policy versions. */
interface PublishedVersions {

  /** This run's identity on the wire. */
  long epoch();

  /** Whether this run published {@code version}. */
  boolean hasPublished(long version);
}
