package dev.graft.trainer.pretrain;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.model.ComputeDevice;
import dev.graft.trainer.Home;
import dev.graft.trainer.checkpoint.RunCheckpoints;
import dev.graft.trainer.data.Corpora;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/** The base models retrofits start from: trained once per Graft home, reused after. */
public final class BaseModels {

  private BaseModels() {}

  /**
   * Trains {@code job} on the corpus into {@code target} unless a complete model is already there;
   * prints the pretraining report either way.
   *
   * @param corpus the user's corpus, or null for the Brown Corpus
   * @param name the model's name, for its run directory ({@code HOME/runs/pretrain-NAME})
   * @param force train again, discarding an earlier run and model
   * @param console whether progress may redraw a terminal line
   * @return {@code target}
   */
  public static Path ensure(BaseModelJob job, Home home, Path corpus, String name, Path target, boolean force,
      boolean console, PrintStream o) throws IOException {
    return ensure(job, home, corpus, name, target, force, console, o, ComputeDevice.AUTO);
  }

  /** {@link #ensure(BaseModelJob, Home, Path, String, Path, boolean, boolean, PrintStream)} on {@code device}. */
  public static Path ensure(BaseModelJob job, Home home, Path corpus, String name, Path target, boolean force,
      boolean console, PrintStream o, ComputeDevice device) throws IOException {
    if (!force && BaseModelJob.isComplete(target)) {
      o.println("base model already trained at " + target + " (use --force to train again)");
      printReport(target, o);
      return target;
    }
    var docs = Corpora.load(home, corpus, o);
    Path runDir = home.run("pretrain-" + name);
    if (force) {
      RunCheckpoints.deleteTree(runDir);
    }
    try (NDManager manager = device.newManager();
        ConsoleProgress progress = new ConsoleProgress(o, console, 50)) {
      job.run(docs, home.tokenizer(Corpora.name(corpus) + "-bpe" + job.vocabSize()), runDir, target,
          manager, progress, o);
    }
    printReport(target, o);
    return target;
  }

  /** Prints a trained model's {@code pretrain_report.json}: throughput, perplexity overall and per domain. */
  public static void printReport(Path model, PrintStream o) throws IOException {
    JsonNode r = new ObjectMapper().readTree(model.resolve(BaseModelJob.REPORT).toFile());
    JsonNode rate = r.path("tokens_per_second");
    o.printf(Locale.ROOT, "pretrain: %,d parameters, %d steps, %,d tokens; %s%n", r.get("parameters").asLong(),
        r.get("steps").asLong(), r.get("train_tokens_seen").asLong(), rate.isNumber()
            ? String.format(Locale.ROOT, "the last run trained %.0f s at %,.0f tok/s", r.get("train_seconds").asDouble(),
                rate.asDouble())
            : "restored from its final checkpoint, nothing left to train");
    o.printf(Locale.ROOT, "validation perplexity %.2f (unigram baseline %.2f) over %,d tokens%n",
        r.get("validation_perplexity").asDouble(), r.get("unigram_perplexity").asDouble(),
        r.get("validation_tokens").asLong());
    o.printf("%-16s %10s %12s %10s%n", "domain", "tokens", "perplexity", "unigram");
    r.get("by_domain").fields().forEachRemaining(e -> o.printf(Locale.ROOT, "%-16s %,10d %12.2f %10.2f%n",
        e.getKey(), e.getValue().get("tokens").asLong(), e.getValue().get("perplexity").asDouble(),
        e.getValue().get("unigram_perplexity").asDouble()));
  }
}
