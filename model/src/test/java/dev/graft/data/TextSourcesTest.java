package dev.graft.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextSourcesTest {

  @TempDir Path tmp;

  private Path jsonl(String content) throws IOException {
    return Files.writeString(tmp.resolve("corpus.jsonl"), content);
  }

  private String errorOf(String content) throws IOException {
    Path file = jsonl(content);
    return assertThrows(IllegalArgumentException.class, () -> TextSources.jsonl(file))
        .getMessage();
  }

  @Test
  void jsonl_validLines_giveDocumentsWithDefaultsAndFileLineIds() throws IOException {
    Path file =
        jsonl(
            "{\"text\": \"First doc.\", \"domain\": \"news\"}\n"
                + "\n"
                + "{\"text\": \"Second\\ndoc.\", \"source\": \"ignored\"}\n"
                + "{\"text\": \"Third.\", \"id\": \"t3\", \"domain\": \"law\"}\n");

    assertEquals(
        List.of(
            new Document("corpus.jsonl:1", "news", "First doc."),
            new Document("corpus.jsonl:3", "default", "Second\ndoc."),
            new Document("t3", "law", "Third.")),
        TextSources.load(file));
  }

  @Test
  void jsonl_malformedLine_namesFileAndLine() throws IOException {
    String message = errorOf("{\"text\": \"ok\"}\n{\"text\": \"unclosed}\n");
    assertEquals(
        tmp.resolve("corpus.jsonl") + " line 2: malformed JSON",
        message.substring(0, message.indexOf(" (")));
  }

  @Test
  void jsonl_lineWithoutText_namesFileAndLine() throws IOException {
    assertEquals(
        tmp.resolve("corpus.jsonl") + " line 3: missing \"text\" field",
        errorOf("{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"domain\": \"news\"}\n"));
  }

  @Test
  void jsonl_nonStringOrEmptyText_isRejectedWithLine() throws IOException {
    assertEquals(
        tmp.resolve("corpus.jsonl") + " line 1: \"text\" must be a string but is NUMBER",
        errorOf("{\"text\": 42}\n"));
    assertEquals(
        tmp.resolve("corpus.jsonl") + " line 2: \"text\" is empty",
        errorOf("{\"text\": \"a\"}\n{\"text\": \"\"}\n"));
  }

  @Test
  void jsonl_arrayOrTrailingGarbage_isRejectedWithLine() throws IOException {
    assertEquals(
        tmp.resolve("corpus.jsonl") + " line 1: expected a JSON object like {\"text\": ...}",
        errorOf("[\"text\"]\n"));
    assertEquals(
        tmp.resolve("corpus.jsonl") + " line 1: malformed JSON",
        errorOf("{\"text\": \"a\"} {\"text\": \"b\"}\n").split(" \\(")[0]);
  }

  @Test
  void jsonl_noDocuments_isAnError() throws IOException {
    assertEquals(
        tmp.resolve("corpus.jsonl")
            + ": no documents (expected one {\"text\": ...} object per line)",
        errorOf("\n  \n"));
  }

  @Test
  void textDirectory_filesBecomeDocumentsOfTheirDirectory() throws IOException {
    Files.createDirectories(tmp.resolve("news"));
    Files.createDirectories(tmp.resolve("fiction/novels"));
    Files.writeString(tmp.resolve("news/a.txt"), "Headline.\nBody.\n");
    Files.writeString(tmp.resolve("fiction/novels/b.txt"), "Once upon a time.");
    Files.writeString(tmp.resolve("news/notes.md"), "not a .txt file");

    assertEquals(
        List.of(
            new Document("fiction/novels/b.txt", "novels", "Once upon a time."),
            new Document("news/a.txt", "news", "Headline.\nBody.")),
        TextSources.load(tmp));
  }

  @Test
  void textFiles_givenDomain_overridesDirectoryName() throws IOException {
    Path file = Files.writeString(tmp.resolve("essay.txt"), "Text.");
    assertEquals(
        List.of(new Document(tmp.getFileName() + "/essay.txt", "essays", "Text.")),
        TextSources.textFiles(List.of(file), "essays"));
  }

  @Test
  void textDirectory_withoutTextFiles_isAnError() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TextSources.textDirectory(tmp));
    assertEquals("no .txt files under " + tmp + "; put one document per .txt file there",
        e.getMessage());
  }

  @Test
  void textFiles_emptyFile_isAnErrorNamingIt() throws IOException {
    Path file = Files.writeString(tmp.resolve("blank.txt"), " \n");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TextSources.textFiles(List.of(file)));
    assertEquals(file + " is empty; remove it or give it some text", e.getMessage());
  }
}
