package dev.graft.trainer.pretrain;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.Document;
import dev.graft.data.PackedSequences;
import dev.graft.data.SequencePacker;
import dev.graft.model.LlamaModel;
import dev.graft.tokenizer.BpeModel;
import dev.graft.tokenizer.GraftTokenizer;
import dev.graft.trainer.data.HeldOut;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * One held-out text that models of different kinds (trained from scratch, or retrofitted and
 * distilled) are scored on alike: the documents a base model held out ({@code heldout.json}),
 * packed with its tokenizer, scored by next-token NLL. Every scored model must use that tokenizer
 * and must not have trained on those documents (models pretrained on the base's split, or
 * distilled from a teacher that recorded it).
 */
public final class HeldOutText {

  private final PackedSequences sequences;
  private final String tokenizerFingerprint;
  private final int limit;

  private HeldOutText(PackedSequences sequences, String tokenizerFingerprint, int limit) {
    this.sequences = sequences;
    this.tokenizerFingerprint = tokenizerFingerprint;
    this.limit = limit;
  }

  /**
   * @param baseDir a model directory with {@code heldout.json} and {@code tokenizer.json}
   * @param corpus the corpus the base was pretrained on
   * @param limit sequences scored (the first of {@link LmEvaluator}'s domain-interleaved order);
   *     every held-out sequence when {@code <= 0}
   * @throws IllegalArgumentException when the base recorded no held-out documents
   */
  public static HeldOutText of(Path baseDir, List<Document> corpus, int seqLen, int limit) throws IOException {
    HeldOut heldOut = HeldOut.read(baseDir).orElseThrow(() -> new IllegalArgumentException(baseDir
        + " records no held-out documents (" + HeldOut.FILE + "); pretrain it again to score models on its"
        + " held-out text"));
    try (GraftTokenizer tok = GraftTokenizer.load(baseDir.resolve(BpeModel.TOKENIZER_JSON))) {
      SequencePacker packer = new SequencePacker(seqLen, tok.bosId(), tok.eosId(), tok.eosId());
      PackedSequences seqs = packer.pack(heldOut.split(corpus).validation(), tok::encode, SequencePacker.Tail.PAD);
      return new HeldOutText(seqs, tok.fingerprint(), limit);
    }
  }

  /**
   * The NLL of the model in {@code modelDir} (Hugging Face layout) on this text.
   *
   * @throws IllegalArgumentException when the model's tokenizer is not the base's
   */
  public LmEvaluator.Score score(Path modelDir, NDManager manager) throws IOException {
    try (GraftTokenizer tok = GraftTokenizer.load(modelDir.resolve(BpeModel.TOKENIZER_JSON))) {
      if (!tok.fingerprint().equals(tokenizerFingerprint)) {
        throw new IllegalArgumentException(modelDir + " uses another tokenizer (sha256 "
            + tok.fingerprint().substring(0, 12) + ") than the held-out text was packed with ("
            + tokenizerFingerprint.substring(0, 12) + "); NLLs over different tokens do not compare");
      }
    }
    try (NDManager m = manager.newSubManager()) {
      HfCheckpoint checkpoint = HfCheckpoint.load(modelDir, m);
      try (LlamaModel model = LlamaModel.fromTensors(checkpoint.config(), m, checkpoint.tensors())) {
        return new LmEvaluator(16).evaluate(model, sequences, limit).overall();
      }
    }
  }

  /** Held-out sequences available (before the limit). */
  public int size() {
    return sequences.size();
  }
}
