package dev.graft.data;

import java.util.Objects;

/**
 * One document of a corpus: a stable identifier, the data domain (genre) it belongs to, and its
 * clean text. Every evaluation in Graft is broken down by {@link #domain()}, and train/validation
 * splits hold out whole documents by {@link #id()}, so the id must be stable across runs and
 * machines (a file name or a corpus file id, never an absolute path).
 *
 * @param id non-blank identifier, unique within a corpus
 * @param domain non-blank domain name, for example {@code "news"} or {@code "default"}
 * @param text the document text; paragraphs are separated by {@code '\n'}
 */
public record Document(String id, String domain, String text) {

  public Document {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(domain, "domain");
    Objects.requireNonNull(text, "text");
    if (id.isBlank()) {
      throw new IllegalArgumentException("document id must not be blank");
    }
    if (domain.isBlank()) {
      throw new IllegalArgumentException("domain of document '" + id + "' must not be blank");
    }
  }
}
