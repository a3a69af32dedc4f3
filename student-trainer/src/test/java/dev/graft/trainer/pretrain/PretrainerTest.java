package dev.graft.trainer.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.data.Document;
import dev.graft.data.PackedSequences;
import dev.graft.data.SequencePacker;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.tokenizer.BpeTrainer;
import dev.graft.tokenizer.GraftTokenizer;
import dev.graft.trainer.checkpoint.RunCheckpoints;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PretrainerTest {

  @TempDir
  static Path shared;

  private static NDManager manager;
  private static GraftTokenizer tokenizer;
  private static PackedSequences train;
  private static PackedSequences validation;

  /** Sentences from a small grammar: learnable structure, so a tiny model's loss must fall. */
  static List<Document> corpus(int docs, long seed) {
    String[] subjects = {"the cat", "a dog", "my neighbour", "the old sailor", "every child"};
    String[] verbs = {"sees", "likes", "paints", "follows", "remembers"};
    String[] objects = {"the red boat", "a quiet garden", "the morning train", "two small birds"};
    Random rng = new Random(seed);
    List<Document> out = new ArrayList<>();
    for (int d = 0; d < docs; d++) {
      StringBuilder sb = new StringBuilder();
      for (int s = 0; s < 12; s++) {
        sb.append(subjects[rng.nextInt(subjects.length)]).append(' ')
            .append(verbs[rng.nextInt(verbs.length)]).append(' ')
            .append(objects[rng.nextInt(objects.length)]).append(". ");
      }
      out.add(new Document("doc" + d, d % 2 == 0 ? "even" : "odd", sb.toString().trim()));
    }
    return out;
  }

  @BeforeAll
  static void setUp() throws Exception {
    manager = NDManager.newBaseManager();
    List<Document> docs = corpus(60, 1);
    Path dir = BpeTrainer.train(docs.stream().map(Document::text), 300).write(shared.resolve("tok"));
    tokenizer = GraftTokenizer.load(dir);
    SequencePacker packer = new SequencePacker(32, tokenizer.bosId(), tokenizer.eosId(), tokenizer.eosId());
    train = packer.pack(docs.subList(0, 50), tokenizer::encode, SequencePacker.Tail.DROP);
    validation = packer.pack(docs.subList(50, 60), tokenizer::encode, SequencePacker.Tail.PAD);
  }

  @AfterAll
  static void tearDown() {
    tokenizer.close();
    manager.close();
  }

  private static PretrainConfig config(long steps, int micro) {
    return new PretrainConfig(32, 8, micro, steps, 3e-3, Math.min(20, steps), 0.1, "cosine", 0.1, 1.0,
        0, 0, 10, 2, 7);
  }

  private static LlamaConfig arch() {
    return LlamaConfig.tiny(tokenizer.vocabSize()).withNumKeyValueHeads(2);
  }

  /** Records the training loss of every step. */
  static final class Losses implements Pretrainer.Listener {
    final List<Double> values = new ArrayList<>();
    final long failAt;

    Losses(long failAt) {
      this.failAt = failAt;
    }

    @Override
    public void onStep(long step, double loss, double lr, double gradNorm, double tps) {
      if (step == failAt) {
        throw new IllegalStateException("simulated kill at step " + step);
      }
      values.add(loss);
    }
  }

  private Pretrainer.Outcome run(PretrainConfig cfg, Path dir, Losses losses) {
    try (LlamaModel model = LlamaModel.random(arch(), manager, 3)) {
      return new Pretrainer(cfg, model, train, validation, new RunCheckpoints(dir, 2),
          tokenizer.fingerprint(), losses, System::nanoTime).run();
    }
  }

  @Test
  void run_tinyPreset_lowersLossWellBelowStart(@TempDir Path dir) {
    Losses losses = new Losses(-1);
    Pretrainer.Outcome out = run(config(200, 8), dir, losses);
    double first = losses.values.get(0);
    double uniform = Math.log(tokenizer.vocabSize());
    assertEquals(uniform, first, 0.5, "an untrained model starts near ln(vocab)");
    double last = losses.values.subList(190, 200).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    assertTrue(last < 0.4 * first, "loss fell from " + first + " to only " + last);
    assertTrue(out.validation().overall().perplexity() < Math.exp(0.5 * first),
        "validation perplexity " + out.validation().overall().perplexity());
    assertEquals(List.of("even", "odd"), List.copyOf(out.validation().byDomain().keySet()));
  }

  @Test
  void resume_afterKill_continuesExactly(@TempDir Path a, @TempDir Path b) {
    Losses straight = new Losses(-1);
    run(config(30, 8), a, straight);

    Losses first = new Losses(25); // killed after the checkpoint at step 20
    assertThrows(IllegalStateException.class, () -> run(config(30, 8), b, first));
    Losses resumed = new Losses(-1);
    run(config(30, 8), b, resumed);

    assertEquals(24, first.values.size());
    assertEquals(10, resumed.values.size(), "resumed from step 20");
    for (int i = 0; i < 10; i++) {
      assertEquals(straight.values.get(20 + i), resumed.values.get(i), 1e-6, "loss at step " + (21 + i));
    }
  }

  @Test
  void run_leavesNoArraysBehindOnTheModelManager(@TempDir Path dir) {
    try (LlamaModel model = LlamaModel.random(arch(), manager, 3)) {
      int before = model.manager().getManagedArrays().size();
      new Pretrainer(config(12, 4), model, train, validation, new RunCheckpoints(dir, 2),
          tokenizer.fingerprint(), new Losses(-1), System::nanoTime).run();
      assertEquals(before, model.manager().getManagedArrays().size(),
          "every per-step array must be freed with its step");
    }
  }

  @Test
  void microBatches_giveTheSameStepAsOneBatch(@TempDir Path a, @TempDir Path b) {
    Losses whole = new Losses(-1);
    Losses split = new Losses(-1);
    run(config(5, 8), a, whole);
    run(config(5, 2), b, split);
    for (int i = 0; i < 5; i++) {
      assertEquals(whole.values.get(i), split.values.get(i), 1e-5, "loss at step " + (i + 1));
    }
  }

  @Test
  void resume_withDifferentBatchSize_isRefused(@TempDir Path dir) {
    run(config(10, 8), dir, new Losses(-1));
    PretrainConfig other = new PretrainConfig(32, 4, 4, 10, 3e-3, 5, 0.1, "cosine", 0.1, 1.0, 0, 0, 10, 2, 7);
    var e = assertThrows(IllegalArgumentException.class, () -> run(other, dir, new Losses(-1)));
    assertTrue(e.getMessage().contains("batch_size=8 but this run has batch_size=4"), e.getMessage());
  }
}
