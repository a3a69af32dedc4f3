package dev.graft.trainer.distill;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An append-only JSON-lines file of a run ({@code steps.jsonl}, {@code evals.jsonl}): created if
 * absent, appended to on resume, each line flushed so the file survives a kill.
 */
final class JsonLines implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private final String name;
  private final BufferedWriter out;

  JsonLines(Path runDir, String name) throws IOException {
    Files.createDirectories(runDir);
    this.name = name;
    this.out = Files.newBufferedWriter(runDir.resolve(name), StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  /** A new, empty line to fill and {@link #append}. */
  static ObjectNode line() {
    return JSON.createObjectNode();
  }

  /** Writes one line and flushes it. @throws UncheckedIOException when the file cannot be written */
  void append(ObjectNode n) {
    try {
      out.write(JSON.writeValueAsString(n));
      out.newLine();
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + name, e);
    }
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
