package dev.graft.trainer.pretrain;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.checkpoint.ShardedWriter;
import dev.graft.data.DatasetSplit;
import dev.graft.data.Document;
import dev.graft.data.PackedSequences;
import dev.graft.data.SequencePacker;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.tokenizer.BpeModel;
import dev.graft.tokenizer.GraftTokenizer;
import dev.graft.trainer.checkpoint.RunCheckpoints;
import dev.graft.trainer.data.HeldOut;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/**
 * Many short from-scratch runs on one corpus split and tokenizer (architectures, seeds and step
 * counts of a sweep): the corpus is split and packed once, not once per run. Each run exports its
 * model in Hugging Face layout with the tokenizer and {@code heldout.json}, so it can be scored
 * like any other model ({@link HeldOutText}); its own validation is one held-out document, since
 * the sweep scores every model on the same held-out text afterwards.
 */
public final class FromScratch {

  /** Written last beside an exported model: its presence marks the run complete. */
  public static final String DONE = "scratch_run.json";

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final DatasetSplit split;
  private final String splitRule;
  private final Path tokenizerDir;
  private final String tokenizerFingerprint;
  private final PackedSequences train;
  private final PackedSequences validation;

  private FromScratch(DatasetSplit split, String splitRule, Path tokenizerDir, String tokenizerFingerprint,
      PackedSequences train, PackedSequences validation) {
    this.split = split;
    this.splitRule = splitRule;
    this.tokenizerDir = tokenizerDir;
    this.tokenizerFingerprint = tokenizerFingerprint;
    this.train = train;
    this.validation = validation;
  }

  /**
   * Splits {@code corpus} as {@link BaseModelJob} does ({@code validationFraction}, {@code splitSeed})
   * and packs the training documents with the tokenizer in {@code tokenizerDir} at {@code seqLen}.
   */
  public static FromScratch of(List<Document> corpus, Path tokenizerDir, double validationFraction, long splitSeed,
      int seqLen) throws IOException {
    DatasetSplit split = DatasetSplit.of(corpus, validationFraction, splitSeed);
    if (split.validation().isEmpty()) {
      throw new IllegalArgumentException("the split holds out no document (validation fraction "
          + validationFraction + " of " + corpus.size() + ")");
    }
    try (GraftTokenizer tok = GraftTokenizer.load(tokenizerDir.resolve(BpeModel.TOKENIZER_JSON))) {
      SequencePacker packer = new SequencePacker(seqLen, tok.bosId(), tok.eosId(), tok.eosId());
      PackedSequences train = packer.pack(split.train(), tok::encode, SequencePacker.Tail.DROP);
      PackedSequences validation = packer.pack(split.validation().subList(0, 1), tok::encode,
          SequencePacker.Tail.PAD);
      return new FromScratch(split, String.format(Locale.ROOT, "%.3f of each domain's documents by id hash (seed %d)",
          validationFraction, splitSeed), tokenizerDir, tok.fingerprint(), train, validation);
    }
  }

  /** Whether {@code out} holds a finished run. */
  public static boolean isComplete(Path out) {
    return Files.isRegularFile(out.resolve(DONE)) && Files.isRegularFile(out.resolve(HfCheckpoint.CONFIG_FILE));
  }

  /**
   * Trains {@code arch} from scratch per {@code cfg} (its seed: initialisation and data order) and
   * exports it to {@code out}; checkpoints go under {@code runDir}.
   */
  public Pretrainer.Outcome run(LlamaConfig arch, PretrainConfig cfg, Path runDir, Path out, NDManager manager,
      Pretrainer.Listener listener) throws IOException {
    try (LlamaModel model = LlamaModel.random(arch, manager, cfg.seed())) {
      Pretrainer.Outcome outcome = new Pretrainer(cfg, model, train, validation,
          new RunCheckpoints(runDir.resolve("checkpoints"), cfg.keepCheckpoints()), tokenizerFingerprint, listener,
          System::nanoTime).run();
      Files.createDirectories(out);
      HfCheckpoint.save(out, model.config(), model.namedParameters(), Dtype.F32, ShardedWriter.DEFAULT_MAX_SHARD_BYTES);
      for (String f : List.of(BpeModel.TOKENIZER_JSON, BpeModel.TOKENIZER_CONFIG_JSON)) {
        if (Files.isRegularFile(tokenizerDir.resolve(f))) {
          Files.copy(tokenizerDir.resolve(f), out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
      }
      HeldOut.of(split, splitRule).write(out);
      ObjectNode r = JSON.createObjectNode();
      r.put("parameters", arch.parameterCount());
      r.put("steps", outcome.steps());
      r.put("seed", cfg.seed());
      r.put("train_tokens_seen", outcome.tokensSeen());
      r.put("final_train_loss", outcome.lastTrainLoss());
      Files.writeString(out.resolve(DONE), JSON.writeValueAsString(r));
      return outcome;
    }
  }

  /** Training sequences (packed once). */
  public int trainSequences() {
    return train.size();
  }
}
