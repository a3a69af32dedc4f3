package dev.graft.cli;

import dev.graft.data.Document;
import dev.graft.trainer.Home;
import dev.graft.trainer.data.Corpora;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** Which corpus a command reads: the Brown Corpus (default) or the user's own files. */
final class CorpusOptions {

  @Option(names = "--data", paramLabel = "PATH",
      description = {"Your own corpus instead of the Brown Corpus: a JSONL file of {\"text\": ..., "
              + "\"domain\": ...} lines, a text file, or a directory of text files (one document per "
              + "file, domain = parent directory)."})
  Path data;

  /** A short name for cache keys: "brown" or the data file's name. */
  String name() {
    return Corpora.name(data);
  }

  List<Document> load(Home home, PrintStream out) throws IOException {
    return Corpora.load(home, data, out);
  }
}
