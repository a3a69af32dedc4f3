package dev.graft.data;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Loads user-provided corpora as {@link Document}s.
 *
 * <ul>
 *   <li>Plain text: each UTF-8 file is one document (surrounding whitespace stripped). Its domain
 *       is the name given, or else the name of the directory that holds the file; its id is {@code
 *       <parent directory>/<file name>}, or the path relative to the root when a directory is
 *       walked.
 *   <li>JSON Lines: see {@link JsonlDocuments}.
 * </ul>
 *
 * Every method rejects an empty corpus or an empty document with an {@link
 * IllegalArgumentException} that names the path.
 */
public final class TextSources {

  private TextSources() {}

  /**
   * Loads {@code path}: a directory is walked with {@link #textDirectory}, a {@code .jsonl} file is
   * read with {@link #jsonl}, any other file is one plain text document.
   */
  public static List<Document> load(Path path) throws IOException {
    if (Files.isDirectory(path)) {
      return textDirectory(path);
    }
    if (!Files.isRegularFile(path)) {
      throw new IllegalArgumentException(path + " does not exist or is not a regular file");
    }
    if (path.getFileName().toString().endsWith(".jsonl")) {
      return jsonl(path);
    }
    return textFiles(List.of(path));
  }

  /** Reads a JSON Lines corpus; see {@link JsonlDocuments#read}. */
  public static List<Document> jsonl(Path file) throws IOException {
    return JsonlDocuments.read(file);
  }

  /** Reads plain text files, each one document whose domain is its parent directory's name. */
  public static List<Document> textFiles(List<Path> files) throws IOException {
    requireNonEmpty(files);
    List<Document> documents = new ArrayList<>();
    for (Path file : files) {
      documents.add(readText(file, parentName(file) + "/" + file.getFileName(), parentName(file)));
    }
    return List.copyOf(documents);
  }

  /** Reads plain text files, each one document of the given domain. */
  public static List<Document> textFiles(List<Path> files, String domain) throws IOException {
    requireNonEmpty(files);
    List<Document> documents = new ArrayList<>();
    for (Path file : files) {
      documents.add(readText(file, parentName(file) + "/" + file.getFileName(), domain));
    }
    return List.copyOf(documents);
  }

  /**
   * Reads every {@code *.txt} file below {@code root} (recursively, skipping hidden files), in path
   * order. A file's domain is the name of its directory; its id is its path relative to root, with
   * {@code /} separators.
   */
  public static List<Document> textDirectory(Path root) throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(root)) {
      files =
          walk.filter(Files::isRegularFile)
              .filter(p -> p.getFileName().toString().endsWith(".txt"))
              .filter(p -> !p.getFileName().toString().startsWith("."))
              .sorted()
              .toList();
    }
    if (files.isEmpty()) {
      throw new IllegalArgumentException(
          "no .txt files under " + root + "; put one document per .txt file there");
    }
    List<Document> documents = new ArrayList<>();
    for (Path file : files) {
      String separator = file.getFileSystem().getSeparator();
      String id = root.relativize(file).toString().replace(separator, "/");
      documents.add(readText(file, id, parentName(file)));
    }
    return List.copyOf(documents);
  }

  private static Document readText(Path file, String id, String domain) throws IOException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(file + " is not valid UTF-8 text", e);
    }
    if (text.isBlank()) {
      throw new IllegalArgumentException(file + " is empty; remove it or give it some text");
    }
    return new Document(id, domain, text.strip());
  }

  private static String parentName(Path file) {
    Path parent = file.toAbsolutePath().normalize().getParent();
    return parent == null || parent.getFileName() == null
        ? JsonlDocuments.DEFAULT_DOMAIN
        : parent.getFileName().toString();
  }

  private static void requireNonEmpty(List<Path> files) {
    if (files.isEmpty()) {
      throw new IllegalArgumentException("no text files given; pass at least one document");
    }
  }
}
