package dev.graft.trainer.distill;

import dev.graft.checkpoint.Dtype;
import dev.graft.data.DatasetSplit;
import dev.graft.data.Document;
import dev.graft.data.PackedSequences;
import dev.graft.data.SequenceCursor;
import dev.graft.data.SequencePacker;
import dev.graft.data.TextEncoder;
import dev.graft.teacher.TeacherInfo;
import dev.graft.teacher.store.StoreKey;
import dev.graft.trainer.data.HeldOut;
import dev.graft.trainer.plan.RunPlan;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The training sequences of a run — which documents, how they are packed — computed one way for
 * the run itself and for {@code graft score}, and the {@link StoreKey} a target store of their
 * targets carries.
 */
public final class TrainingData {

  private TrainingData() {}

  /**
   * The documents a run trains and evaluates on: the teacher's recorded held-out set when it has
   * one ({@code heldout.json}), else the run's own split by {@code data.validation_fraction} and
   * {@code data.split_seed}.
   */
  public static DatasetSplit split(RunPlan plan, Optional<HeldOut> recorded, List<Document> corpus) {
    return recorded.map(h -> h.split(corpus)).orElseGet(() ->
        DatasetSplit.of(corpus, plan.data().validationFraction(), plan.data().splitSeed()));
  }

  /** How {@link #split} chose the documents, in words. */
  public static String splitRule(RunPlan plan, Optional<HeldOut> recorded) {
    return recorded.isPresent() ? "held out by the teacher (heldout.json)"
        : String.format(Locale.ROOT, "validation_fraction %s, split_seed %d", plan.data().validationFraction(),
            plan.data().splitSeed());
  }

  /** The training documents packed into windows of {@code data.seq_len}, the tail dropped. */
  public static PackedSequences packTrain(RunPlan plan, DatasetSplit split, TextEncoder encoder, int bosId,
      int eosId) {
    return new SequencePacker(plan.data().seqLen(), bosId, eosId, eosId)
        .pack(split.train(), encoder, SequencePacker.Tail.DROP);
  }

  /**
   * The training sequences {@code train.steps} batches of {@code train.batch_size} draw, each once,
   * in the order they are first drawn (every sequence when the run walks more than one epoch).
   */
  public static int[] drawn(PackedSequences train, RunPlan plan) {
    return firstDrawn(train, plan.train().seed(), plan.train().steps() * plan.train().batchSize());
  }

  /** The first {@code count} distinct sequences of the data order of {@code seed} (at most all of them). */
  public static int[] firstDrawn(PackedSequences train, long seed, long count) {
    SequenceCursor cursor = SequenceCursor.over(train, seed, SequenceCursor.Position.START);
    Set<Integer> seen = new LinkedHashSet<>();
    long limit = Math.min(count, train.size());
    while (seen.size() < limit) {
      seen.add(cursor.next());
    }
    return seen.stream().mapToInt(Integer::intValue).toArray();
  }

  /** The key of a target store of {@code train}'s targets for this run's loss and teacher. */
  public static StoreKey storeKey(TeacherInfo teacher, String tokenizerFingerprint, DatasetSplit split,
      String splitRule, PackedSequences train, RunPlan plan) {
    MessageDigest docs = sha256();
    split.train().stream().map(Document::id).sorted().forEach(id -> {
      docs.update(id.getBytes(StandardCharsets.UTF_8));
      docs.update((byte) '\n');
    });
    MessageDigest tokens = sha256();
    ByteBuffer buf = ByteBuffer.allocate(4 * (train.seqLen() + 1)).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < train.size(); i++) {
      int[] window = train.window(i);
      buf.clear();
      buf.asIntBuffer().put(window);
      tokens.update(buf.array(), 0, 4 * window.length);
    }
    RunPlan.Loss loss = plan.loss();
    Dtype dtype = switch (loss.valueDtype()) {
      case FP32 -> Dtype.F32;
      case FP16 -> Dtype.F16;
      case BF16 -> Dtype.BF16;
    };
    return new StoreKey(teacher.modelFingerprint(), tokenizerFingerprint, teacher.vocabSize(),
        HexFormat.of().formatHex(docs.digest()), splitRule, plan.data().seqLen(), train.size(),
        HexFormat.of().formatHex(tokens.digest()), loss.k(), loss.temperature(), dtype);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime provides SHA-256", e);
    }
  }
}
