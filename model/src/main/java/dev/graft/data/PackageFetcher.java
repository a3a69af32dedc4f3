package dev.graft.data;

import java.io.IOException;
import java.nio.file.Path;

/** Obtains a corpus package as a gzipped tarball. */
@FunctionalInterface
interface PackageFetcher {

  /**
   * Writes the package tarball into {@code workDir}, an existing empty directory, and returns its
   * path.
   *
   * @throws IOException with a message that says what to install or run when the fetch fails
   */
  Path fetch(Path workDir) throws IOException;
}
