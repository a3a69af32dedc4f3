package dev.graft.trainer.pretrain;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.DatasetSplit;
import dev.graft.data.Document;
import dev.graft.data.PackedSequences;
import dev.graft.data.SequencePacker;
import dev.graft.data.UnigramBaseline;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.tokenizer.BpeModel;
import dev.graft.tokenizer.BpeTrainer;
import dev.graft.tokenizer.GraftTokenizer;
import dev.graft.trainer.checkpoint.RunCheckpoints;
import dev.graft.trainer.data.HeldOut;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Produces a base model from a corpus: train/validation split by document, a byte-level BPE
 * tokenizer trained on the training documents, packing, cross-entropy pretraining, and export in
 * Hugging Face layout ({@code config.json}, {@code model.safetensors}, {@code tokenizer.json})
 * with a {@code pretrain_report.json} that compares the model with a unigram baseline.
 *
 * @param vocabSize tokenizer vocabulary, when the tokenizer must be trained
 * @param architecture model preset for a vocabulary size
 * @param train optimisation settings
 * @param validationFraction fraction of documents held out
 */
public record BaseModelJob(int vocabSize, Function<Integer, LlamaConfig> architecture,
    PretrainConfig train, double validationFraction) {

  /** Name of the report written beside the exported model. */
  public static final String REPORT = "pretrain_report.json";

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public BaseModelJob {
    if (vocabSize < BpeTrainer.MIN_VOCAB_SIZE) {
      throw new IllegalArgumentException("vocab_size (" + vocabSize + ") must be >= " + BpeTrainer.MIN_VOCAB_SIZE);
    }
    if (!(validationFraction > 0 && validationFraction < 0.5)) {
      throw new IllegalArgumentException("validation fraction (" + validationFraction + ") must be in (0, 0.5)");
    }
  }

  /** True when {@code out} already holds a finished base model. */
  public static boolean isComplete(Path out) {
    return Files.isRegularFile(out.resolve(REPORT)) && Files.isRegularFile(out.resolve("config.json"));
  }

  /**
   * Runs the whole recipe. Resumes from the newest checkpoint under {@code runDir} if one exists.
   *
   * @param tokenizerDir where the tokenizer lives, or is trained and written when absent
   * @return the report that is also written to {@code out/pretrain_report.json}
   */
  public ObjectNode run(List<Document> corpus, Path tokenizerDir, Path runDir, Path out,
      NDManager manager, Pretrainer.Listener listener, PrintStream log) throws IOException {
    long wallStart = System.nanoTime();
    DatasetSplit split = DatasetSplit.of(corpus, validationFraction, train.seed());
    log.printf("corpus: %d documents (%d train, %d validation) in %d domains%n", corpus.size(),
        split.train().size(), split.validation().size(), split.trainCountByDomain().size());
    ensureTokenizer(split.train(), vocabSize, tokenizerDir, log);
    try (GraftTokenizer tok = GraftTokenizer.load(tokenizerDir.resolve(BpeModel.TOKENIZER_JSON))) {
      SequencePacker packer = new SequencePacker(train.seqLen(), tok.bosId(), tok.eosId(), tok.eosId());
      PackedSequences trainSeqs = packer.pack(split.train(), tok::encode, SequencePacker.Tail.DROP);
      PackedSequences valSeqs = packer.pack(split.validation(), tok::encode, SequencePacker.Tail.PAD);
      LlamaConfig arch = architecture.apply(tok.vocabSize());
      log.printf(Locale.ROOT, "data: %,d train tokens in %,d sequences, %,d validation tokens; model: %,d parameters%n",
          (long) trainSeqs.size() * train.seqLen(), trainSeqs.size(), valSeqs.targetTokens().length,
          arch.parameterCount());
      try (LlamaModel model = LlamaModel.random(arch, manager, train.seed())) {
        Pretrainer trainer = new Pretrainer(train, model, trainSeqs, valSeqs,
            new RunCheckpoints(runDir.resolve("checkpoints"), train.keepCheckpoints()),
            tok.fingerprint(), listener, System::nanoTime);
        Pretrainer.Outcome outcome = trainer.run();
        ObjectNode report = report(arch, outcome, trainSeqs, valSeqs, tok,
            (System.nanoTime() - wallStart) / 1e9);
        export(model, tokenizerDir, out, report);
        HeldOut.of(split, String.format(Locale.ROOT, "%.3f of each domain's documents by id hash (seed %d)",
            validationFraction, train.seed())).write(out);
        return report;
      }
    }
  }

  /**
   * Trains a byte-level BPE tokenizer of {@code vocabSize} tokens on {@code trainDocs} into
   * {@code dir}, unless {@code dir} already holds a {@code tokenizer.json}.
   */
  public static void ensureTokenizer(List<Document> trainDocs, int vocabSize, Path dir, PrintStream log)
      throws IOException {
    if (Files.isRegularFile(dir.resolve(BpeModel.TOKENIZER_JSON))) {
      return;
    }
    long t0 = System.nanoTime();
    BpeModel bpe = BpeTrainer.train(trainDocs.stream().map(Document::text), vocabSize);
    bpe.write(dir);
    log.printf(Locale.ROOT, "tokenizer: trained %d-token byte-level BPE in %.1f s -> %s%n",
        bpe.vocabSize(), (System.nanoTime() - t0) / 1e9, dir);
  }

  private ObjectNode report(LlamaConfig arch, Pretrainer.Outcome o, PackedSequences trainSeqs,
      PackedSequences valSeqs, GraftTokenizer tok, double wallSeconds) {
    UnigramBaseline unigram = UnigramBaseline.fit(trainSeqs.targetTokens(), tok.vocabSize());
    ObjectNode r = JSON.createObjectNode();
    r.put("parameters", arch.parameterCount());
    r.put("steps", o.steps());
    r.put("train_tokens_seen", o.tokensSeen());
    r.put("train_seconds", o.trainSeconds());
    r.put("wall_seconds", wallSeconds);
    if (o.tokensThisRun() > 0) { // a run resumed after its last step trains nothing: no throughput
      r.put("tokens_per_second", o.tokensThisRun() / Math.max(1e-9, o.trainSeconds()));
    } else {
      r.putNull("tokens_per_second");
    }
    r.put("final_train_loss", o.lastTrainLoss());
    r.put("validation_tokens", o.validation().overall().tokens());
    r.put("validation_loss", o.validation().overall().loss());
    r.put("validation_perplexity", o.validation().overall().perplexity());
    r.put("unigram_perplexity", unigram.perplexity(valSeqs.targetTokens()));
    r.put("tokenizer_fingerprint", tok.fingerprint());
    ObjectNode domains = r.putObject("by_domain");
    Map<String, Double> uniByDomain = unigram.perplexityByDomain(valSeqs);
    o.validation().byDomain().forEach((d, s) -> {
      ObjectNode n = domains.putObject(d);
      n.put("tokens", s.tokens());
      n.put("perplexity", s.perplexity());
      n.put("unigram_perplexity", uniByDomain.getOrDefault(d, Double.NaN));
    });
    return r;
  }

  private static void export(LlamaModel model, Path tokenizerDir, Path out, ObjectNode report) throws IOException {
    Files.createDirectories(out);
    HfCheckpoint.save(out, model.config(), model.namedParameters(), Dtype.F32, dev.graft.checkpoint.ShardedWriter.DEFAULT_MAX_SHARD_BYTES);
    for (String f : List.of(BpeModel.TOKENIZER_JSON, BpeModel.TOKENIZER_CONFIG_JSON)) {
      if (Files.isRegularFile(tokenizerDir.resolve(f))) {
        Files.copy(tokenizerDir.resolve(f), out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    // Written last: its presence marks the export as complete.
    Files.writeString(out.resolve(REPORT), JSON.writeValueAsString(report));
  }
}
