package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;

/**
 * A tiny teacher pretrained once per test JVM with {@code graft pretrain} on the synthetic corpus
 * of {@link DistillCommandTest#corpus}; it records its held-out documents like any base model.
 */
final class TinyBase {

  private static Path root;

  private TinyBase() {}

  /** The directory holding {@code synthetic.jsonl} and the pretrained {@code teacher/}. */
  static synchronized Path root() {
    if (root == null) {
      try {
        Path dir = Files.createTempDirectory("graft-tiny-base");
        dir.toFile().deleteOnExit();
        Path data = DistillCommandTest.corpus(dir);
        CommandLine cl = GraftCommand.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        assertEquals(0, cl.execute("--home", dir.toString(), "pretrain", "--preset", "tiny",
            "--data", data.toString(), "--vocab-size", "300", "--steps", "200", "--seq-len", "64",
            "--batch-size", "8", "--lr", "3e-3", "--warmup", "20", "--validation-fraction", "0.1",
            "--out", dir.resolve("teacher").toString()), err.toString());
        root = dir;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    return root;
  }

  static Path teacher() {
    return root().resolve("teacher");
  }

  static Path data() {
    return root().resolve("synthetic.jsonl");
  }
}
