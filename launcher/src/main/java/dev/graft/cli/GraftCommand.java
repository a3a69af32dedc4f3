package dev.graft.cli;

import dev.graft.kube.discovery.EndpointSliceResolverProvider;
import dev.graft.trainer.Home;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/** The {@code graft} program: one jar, one subcommand per job. */
@Command(
    name = "graft",
    mixinStandardHelpOptions = true,
    versionProvider = GraftCommand.Version.class,
    description = {"Retrofit pretrained language models onto new architectures and recover their quality by "
            + "self-distillation from the original model.",
        "",
        "Data, tokenizers, models and runs are cached under --home (default: $GRAFT_HOME, else "
            + "~/.cache/graft), so the embedded base model is trained once per machine."},
    subcommands = {SetupCommand.class, PretrainCommand.class, LocalCommand.class, DistillCommand.class,
        TeacherCommand.class, SamplerCommand.class, TrainerCommand.class, TrainerStatusCommand.class,
        ConfigCommand.class, BenchCommand.class, ExperimentCommand.class, ScoreCommand.class,
        SubmitCommand.class,
        CommandLine.HelpCommand.class})
public final class GraftCommand {

  @Option(names = "--home", paramLabel = "DIR", scope = CommandLine.ScopeType.INHERIT,
      description = "Cache directory for corpus, tokenizer, models and runs (default: ${DEFAULT-VALUE}).")
  Path home = Home.defaultRoot();

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line; exposed for tests. */
  public static CommandLine commandLine() {
    EndpointSliceResolverProvider.register(); // k8s:/// endpoints; the Kubernetes client is made on first use
    CommandLine cl = new CommandLine(new GraftCommand());
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof IllegalArgumentException || e instanceof IllegalStateException
          || e instanceof java.io.IOException || e instanceof java.io.UncheckedIOException) {
        cmd.getErr().println("graft: error: " + e.getMessage());
        return 2;
      }
      throw e;
    });
    return cl;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = GraftCommand.class.getPackage().getImplementationVersion();
      return new String[] {"graft " + (v == null ? "dev" : v)};
    }
  }
}
