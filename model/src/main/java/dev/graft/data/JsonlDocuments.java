package dev.graft.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads and writes corpora as JSON Lines: one object per line with a required, non-empty string
 * {@code "text"}, an optional string {@code "domain"} (default {@value #DEFAULT_DOMAIN}) and an
 * optional string {@code "id"} (default {@code <file name>:<line number>}). Blank lines are
 * skipped; other fields are ignored.
 */
public final class JsonlDocuments {

  /** The domain of a line that carries none. */
  public static final String DEFAULT_DOMAIN = "default";

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private JsonlDocuments() {}

  /**
   * Reads every document of a JSONL file.
   *
   * @throws IllegalArgumentException naming the file and the 1-based line number of the first
   *     malformed line, or if the file holds no document
   */
  public static List<Document> read(Path file) throws IOException {
    List<Document> documents = new ArrayList<>();
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      int lineNumber = 0;
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        lineNumber++;
        if (!line.isBlank()) {
          documents.add(parseLine(file, lineNumber, line));
        }
      }
    }
    if (documents.isEmpty()) {
      throw new IllegalArgumentException(
          file + ": no documents (expected one {\"text\": ...} object per line)");
    }
    return List.copyOf(documents);
  }

  /** Writes the documents, one {@code {"id", "domain", "text"}} object per line. */
  public static void write(Path file, List<Document> documents) throws IOException {
    try (BufferedWriter writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      for (Document document : documents) {
        ObjectNode node = JSON.createObjectNode();
        node.put("id", document.id());
        node.put("domain", document.domain());
        node.put("text", document.text());
        writer.write(JSON.writeValueAsString(node));
        writer.write('\n');
      }
    }
  }

  private static Document parseLine(Path file, int lineNumber, String line) {
    String where = file + " line " + lineNumber + ": ";
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          where + "malformed JSON (" + e.getOriginalMessage() + ")", e);
    }
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException(where + "expected a JSON object like {\"text\": ...}");
    }
    String text = stringField(node, "text", where);
    if (text == null) {
      throw new IllegalArgumentException(where + "missing \"text\" field");
    }
    if (text.isEmpty()) {
      throw new IllegalArgumentException(where + "\"text\" is empty");
    }
    String domain = stringField(node, "domain", where);
    String id = stringField(node, "id", where);
    return new Document(
        id == null ? file.getFileName() + ":" + lineNumber : id,
        domain == null ? DEFAULT_DOMAIN : domain,
        text);
  }

  /** The field's string value, null when absent or JSON null; anything else is an error. */
  private static String stringField(JsonNode node, String name, String where) {
    JsonNode value = node.get(name);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw new IllegalArgumentException(
          where + "\"" + name + "\" must be a string but is " + value.getNodeType());
    }
    if (!name.equals("text") && value.asText().isBlank()) {
      throw new IllegalArgumentException(where + "\"" + name + "\" must not be blank");
    }
    return value.asText();
  }
}
