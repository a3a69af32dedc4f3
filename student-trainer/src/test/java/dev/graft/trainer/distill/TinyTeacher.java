package dev.graft.trainer.distill;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.Document;
import dev.graft.model.LlamaConfig;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.pretrain.BaseModelJob;
import dev.graft.trainer.pretrain.PretrainConfig;
import dev.graft.trainer.pretrain.Pretrainer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A tiny MHA teacher (4 heads, 2 layers) pretrained for a few seconds on a synthetic three-domain
 * corpus, built once per test JVM: peaked enough that a retrofit opens a real KL gap.
 */
public final class TinyTeacher {

  public static final List<Document> CORPUS = corpus();
  private static Path dir;

  private TinyTeacher() {}

  public static synchronized Path dir() {
    if (dir == null) {
      try {
        Path root = Files.createTempDirectory("graft-tiny-teacher");
        root.toFile().deleteOnExit();
        PretrainConfig cfg = PretrainConfig.defaults().withSteps(200).withBatch(8, 8).withSeqLen(64)
            .withLr(3e-3, 20).withIntervals(0, 8, 1000);
        BaseModelJob job = new BaseModelJob(300, LlamaConfig::tiny, cfg, 0.1);
        try (NDManager m = NDManager.newBaseManager()) {
          job.run(CORPUS, root.resolve("tok"), root.resolve("run"), root.resolve("model"), m,
              new Pretrainer.Listener() {}, quiet());
        }
        dir = root.resolve("model");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return dir;
  }

  public static PrintStream quiet() {
    return new PrintStream(OutputStream.nullOutputStream());
  }

  /** A run plan of {@link #overrides} plus {@code more}, bound to the tiny teacher. */
  public static RunPlan.Bound plan(String... more) throws IOException {
    return RunPlan.of(RunConfig.load(null, overrides(more)))
        .bind(LlamaConfig.read(dir().resolve(HfCheckpoint.CONFIG_FILE)));
  }

  /** Overrides that size a distillation run for the tiny teacher. */
  public static List<String> overrides(String... more) {
    List<String> o = new ArrayList<>(List.of("data.seq_len=64", "data.validation_fraction=0.1",
        "train.batch_size=8", "train.micro_batch=8", "train.steps=6", "train.warmup_steps=2",
        "retrofit.alpha_ramp_steps=2", "eval.every=0", "eval.sequences=8", "checkpoint.every=0",
        "loss.k=16", "server.port=-1", "onpolicy.fraction=0", "eval.continuations=4"));
    o.addAll(List.of(more));
    return o;
  }

  private static List<Document> corpus() {
    String[][] words = {
        {"the", "market", "rose", "as", "traders", "bought", "shares", "and", "bonds", "today"},
        {"she", "walked", "home", "under", "the", "quiet", "moon", "and", "smiled", "softly"},
        {"the", "experiment", "measured", "energy", "of", "particles", "in", "a", "magnetic", "field"}};
    String[] domains = {"news", "fiction", "learned"};
    Random rng = new Random(7);
    List<Document> docs = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      int d = i % 3;
      StringBuilder sb = new StringBuilder();
      for (int w = 0; w < 220; w++) {
        // Mostly the domain's phrase in order, sometimes a random word: learnable but not trivial.
        int pos = w % words[d].length;
        String word = rng.nextInt(5) == 0 ? words[rng.nextInt(3)][rng.nextInt(10)] : words[d][pos];
        sb.append(word).append(pos == words[d].length - 1 ? ". " : " ");
      }
      docs.add(new Document(domains[d] + "-" + i, domains[d], sb.toString().trim()));
    }
    return docs;
  }
}
