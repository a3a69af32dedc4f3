package dev.graft.cli;

import ai.djl.ndarray.NDManager;
import dev.graft.trainer.pretrain.BaseModelJob;
import dev.graft.trainer.pretrain.ConsoleProgress;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code graft pretrain}: trains a base model from scratch with cross-entropy. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = {"Train a small Llama-family base model from scratch on a corpus (cross-entropy),",
        "with validation, checkpoints and resume, and export it in Hugging Face layout.",
        "An interrupted run resumes from its newest checkpoint when started again."})
final class PretrainCommand implements Callable<Integer> {

  @ParentCommand
  GraftCommand parent;

  @Mixin
  CorpusOptions corpus = new CorpusOptions();

  @Mixin
  PretrainOptions options = new PretrainOptions();

  @Option(names = "--out", paramLabel = "DIR",
      description = "Where to write the model (default: HOME/models/base-PRESET-CORPUS).")
  Path out;

  @Option(names = "--force", description = "Train again even if the output already holds a model.")
  boolean force;

  @Override
  public Integer call() throws Exception {
    PrintStream o = System.out;
    Path model = ensureBaseModel(new Home(parent.home), corpus, options, out, force, o);
    o.println("base model: " + model);
    return 0;
  }

  /** Trains the base model unless it exists; returns its directory. Shared with {@code graft local}. */
  static Path ensureBaseModel(Home home, CorpusOptions corpus, PretrainOptions options, Path out,
      boolean force, PrintStream o) throws Exception {
    String name = options.modelName(corpus.name());
    Path target = out != null ? out : home.model(name);
    if (!force && BaseModelJob.isComplete(target)) {
      o.println("base model already trained at " + target + " (use --force to train again)");
      printReport(target, o);
      return target;
    }
    BaseModelJob job = options.job();
    var docs = corpus.load(home, o);
    Path runDir = home.run("pretrain-" + name);
    if (force) {
      dev.graft.trainer.pretrain.RunCheckpoints.deleteTree(runDir);
    }
    try (NDManager manager = NDManager.newBaseManager();
        ConsoleProgress progress = new ConsoleProgress(o, System.console() != null, 50)) {
      job.run(docs, home.tokenizer(corpus.name() + "-bpe" + options.vocabSize), runDir, target,
          manager, progress, o);
    }
    printReport(target, o);
    return target;
  }

  static void printReport(Path model, PrintStream o) throws java.io.IOException {
    var r = new com.fasterxml.jackson.databind.ObjectMapper().readTree(model.resolve(BaseModelJob.REPORT).toFile());
    o.printf(Locale.ROOT, "pretrain: %,d parameters, %d steps, %,d tokens in %.0f s (%,.0f tok/s)%n",
        r.get("parameters").asLong(), r.get("steps").asLong(), r.get("train_tokens_seen").asLong(),
        r.get("train_seconds").asDouble(), r.get("tokens_per_second").asDouble());
    o.printf(Locale.ROOT, "validation perplexity %.2f (unigram baseline %.2f) over %,d tokens%n",
        r.get("validation_perplexity").asDouble(), r.get("unigram_perplexity").asDouble(),
        r.get("validation_tokens").asLong());
    o.printf("%-16s %10s %12s %10s%n", "domain", "tokens", "perplexity", "unigram");
    r.get("by_domain").fields().forEachRemaining(e -> o.printf(Locale.ROOT, "%-16s %,10d %12.2f %10.2f%n",
        e.getKey(), e.getValue().get("tokens").asLong(), e.getValue().get("perplexity").asDouble(),
        e.getValue().get("unigram_perplexity").asDouble()));
  }

}
