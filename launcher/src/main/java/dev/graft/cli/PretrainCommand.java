package dev.graft.cli;

import dev.graft.model.ComputeDevice;
import dev.graft.trainer.Home;
import dev.graft.trainer.pretrain.BaseModels;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code graft pretrain}: trains a base model from scratch with cross-entropy. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
    header = "Train a small Llama base model from scratch.",
    description = {"Train a small Llama-family base model from scratch on a corpus (cross-entropy), with "
            + "validation, checkpoints and resume, and export it in Hugging Face layout. An interrupted "
            + "run resumes from its newest checkpoint when started again."})
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

  @Mixin
  DeviceOption device = new DeviceOption();

  @Override
  public Integer call() throws Exception {
    PrintStream o = System.out;
    Path model = ensureBaseModel(new Home(parent.home), corpus, options, out, force, o, device.device());
    o.println("base model: " + model);
    return 0;
  }

  /** Trains the base model unless it exists; returns its directory. Shared with {@code graft local}. */
  static Path ensureBaseModel(Home home, CorpusOptions corpus, PretrainOptions options, Path out,
      boolean force, PrintStream o, ComputeDevice device) throws IOException {
    String name = options.modelName(corpus.name());
    return BaseModels.ensure(options.job(), home, corpus.data, name, out != null ? out : home.model(name), force,
        System.console() != null, o, device);
  }
}
