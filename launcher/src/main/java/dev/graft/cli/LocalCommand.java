package dev.graft.cli;

import dev.graft.model.ComputeDevice;
import dev.graft.trainer.Home;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code graft local}: the whole job on one machine. Fetches the corpus, trains (or reuses) the
 * embedded base model, then retrofits it to grouped-query attention through a teacher-service and
 * the student-trainer running as gRPC servers on loopback, and prints the before/after table.
 */
@Command(name = "local", mixinStandardHelpOptions = true,
    header = "The whole job on this machine: corpus, base model, GQA retrofit.", sortOptions = false,
    description = {"Run Graft on this machine, end to end: fetch the Brown Corpus, train (or reuse) the "
            + "embedded base model, start a teacher-service and the student-trainer on loopback, and "
            + "retrofit the base model to GQA by self-distillation (forward KL on top-k + tail "
            + "targets). Prints the before/after evaluation and writes the student in Hugging Face "
            + "layout. An interrupted run resumes from its newest checkpoint when started again."})
final class LocalCommand implements Callable<Integer> {

  @ParentCommand
  GraftCommand parent;

  @Mixin
  RunOptions run = new RunOptions();

  @Mixin
  CorpusOptions corpus = new CorpusOptions();

  /** The base model is always the embedded default; `graft pretrain` trains variants. */
  private final PretrainOptions options = new PretrainOptions();

  @Option(names = "--fresh", description = "Discard an earlier retrofit run with the same settings and start over.")
  boolean fresh;

  @Mixin
  DeviceOption device = new DeviceOption();

  @Override
  public Integer call() throws Exception {
    RunConfig cfg = run.load();
    if (corpus.data != null) {
      cfg = cfg.with("data.corpus=" + corpus.data.toAbsolutePath());
    }
    RunPlan plan = RunPlan.of(cfg); // every problem of the config before the base model trains
    Home home = new Home(parent.home);
    ComputeDevice on = device.device();
    Path base = PretrainCommand.ensureBaseModel(home, corpus, options, null, false, System.out, on);
    System.out.println("base model (teacher): " + base);
    System.out.println();
    Loopback.run(home, plan, base, System.out, fresh, on);
    return 0;
  }
}
