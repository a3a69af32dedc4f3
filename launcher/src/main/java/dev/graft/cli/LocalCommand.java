package dev.graft.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

/**
 * {@code graft local}: the whole job on one machine. Today it prepares everything a retrofit
 * starts from: the corpus, the tokenizer, and the embedded base model (trained once per machine).
 */
@Command(name = "local", mixinStandardHelpOptions = true,
    description = {"Run Graft on this machine: fetch the corpus, train the tokenizer, and train",
        "(or reuse) the embedded base model that retrofits start from."})
final class LocalCommand implements Callable<Integer> {

  @ParentCommand
  GraftCommand parent;

  @Mixin
  CorpusOptions corpus = new CorpusOptions();

  @Mixin
  PretrainOptions options = new PretrainOptions();

  @Override
  public Integer call() throws Exception {
    Path base = PretrainCommand.ensureBaseModel(new Home(parent.home), corpus, options, null, false, System.out);
    System.out.println("base model (teacher for retrofits): " + base);
    return 0;
  }
}
