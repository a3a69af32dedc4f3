package dev.graft.trainer.distill;

import dev.graft.data.DatasetSplit;
import dev.graft.data.Document;
import dev.graft.data.PackedSequences;
import dev.graft.teacher.TeacherScorer;
import dev.graft.teacher.store.StoreKey;
import dev.graft.teacher.store.TargetStore;
import dev.graft.teacher.store.TargetStoreWriter;
import dev.graft.tokenizer.BpeModel;
import dev.graft.tokenizer.GraftTokenizer;
import dev.graft.trainer.checkpoint.RunCheckpoints;
import dev.graft.trainer.data.HeldOut;
import dev.graft.trainer.plan.RunPlan;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.stream.IntStream;

/**
 * Scores a run's training sequences once and writes them as a target store ({@code graft score}),
 * so that runs with {@code teacher.store} read them instead of asking the teacher: the same
 * documents, packing and tokenizer as the run ({@link TrainingData}), the run's k, temperature and
 * wire dtype.
 *
 * @param plan the run the store is for
 * @param teacherDir the teacher's checkpoint (its tokenizer and held-out set)
 * @param out the store directory
 * @param selection which training sequences to store
 * @param rowsPerRequest sequences per teacher request
 * @param chunkBytes the size a chunk file grows to before the next begins
 * @param replace whether a store of another key or selection in {@code out} is deleted and written
 *     anew (else it is an error)
 */
public record TargetStoreJob(RunPlan.Bound plan, Path teacherDir, Path out, Selection selection,
    int rowsPerRequest, long chunkBytes, boolean replace) {

  /** Which training sequences a store holds, in store order. */
  public interface Selection {

    int[] select(PackedSequences train);

    /** What it selects, in words. */
    String describe();

    /**
     * {@code run} (the sequences the run's {@code train.steps} draw), {@code all}, or a count N
     * (the first N of the run's data order).
     */
    static Selection parse(String s, RunPlan plan) {
      if (s.equals("run") || s.equals("all")) {
        return of(s, train -> s.equals("all") ? IntStream.range(0, train.size()).toArray()
            : TrainingData.drawn(train, plan));
      }
      long n;
      try {
        n = Long.parseLong(s);
      } catch (NumberFormatException e) {
        n = 0;
      }
      if (n < 1) {
        throw new IllegalArgumentException("--sequences '" + s + "' must be run, all or a count >= 1");
      }
      long count = n;
      return of("first " + n, train -> TrainingData.firstDrawn(train, plan.train().seed(), count));
    }

    static Selection of(String description, java.util.function.Function<PackedSequences, int[]> select) {
      return new Selection() {
        @Override
        public int[] select(PackedSequences train) {
          return select.apply(train);
        }

        @Override
        public String describe() {
          return description;
        }
      };
    }
  }

  public TargetStoreJob {
    if (rowsPerRequest < 1) {
      throw new IllegalArgumentException("--rows-per-request (" + rowsPerRequest + ") must be >= 1");
    }
    if (chunkBytes < 1 << 20 || chunkBytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("--chunk-mb must give a chunk of 1 MiB to 2 GiB, got " + chunkBytes
          + " bytes");
    }
  }

  /** Scores and writes the store (resuming an unfinished one); returns its key. */
  public StoreKey run(TeacherScorer teacher, List<Document> corpus, PrintStream log, boolean console,
      LongSupplier nanoClock) throws IOException {
    RunPlan p = plan.plan();
    try (GraftTokenizer tok = GraftTokenizer.load(teacherDir.resolve(BpeModel.TOKENIZER_JSON))) {
      DistillJob.requireCompatible(teacher.info(), plan.teacher(), tok);
      Optional<HeldOut> recorded = HeldOut.read(teacherDir);
      DatasetSplit split = TrainingData.split(p, recorded, corpus);
      PackedSequences train = TrainingData.packTrain(p, split, tok::encode, tok.bosId(), tok.eosId());
      StoreKey key = TrainingData.storeKey(teacher.info(), tok.fingerprint(), split,
          TrainingData.splitRule(p, recorded), train, p);
      int[] rows = selection.select(train);
      TargetStoreWriter writer = new TargetStoreWriter(key, rows, train::inputs, rowsPerRequest,
          (int) Math.max(1, chunkBytes / rowBytes(key)));
      log.printf(Locale.ROOT, "scoring %,d of %,d training sequences of %d tokens (%s) with %s: top-%d at"
              + " temperature %s in %s, %.0f B/token, %.1f MB%n", rows.length, train.size(), key.seqLen(),
          selection.describe(), teacher.info().modelFingerprint().substring(0, 12), key.k(), key.temperature(), key.dtypeName(),
          writer.bytesPerToken(), writer.bytesPerToken() * rows.length * key.seqLen() / 1e6);
      if (replace && Files.isRegularFile(out.resolve("manifest.json"))) {
        replaceOther(out, key, rows, log);
      }
      try (StoreProgress progress = new StoreProgress(log, console, key.seqLen(), nanoClock)) {
        boolean wrote = writer.write(out, teacher, progress);
        log.println(wrote ? "target store: " + out : "target store " + out + " is already complete");
      }
      return key;
    }
  }

  private static long rowBytes(StoreKey key) {
    return TargetStoreWriter.rowBytes(key);
  }

  private static void replaceOther(Path out, StoreKey key, int[] rows, PrintStream log) throws IOException {
    TargetStore old = TargetStore.open(out);
    if (!old.key().differences(key).isEmpty() || !old.holdsExactly(rows)) {
      log.println("replacing the target store in " + out + ": it holds other targets");
      RunCheckpoints.deleteTree(out);
    }
  }

  /** A progress line: sequences scored, tokens per second, time left. */
  private static final class StoreProgress implements TargetStoreWriter.Progress, AutoCloseable {
    private final PrintStream log;
    private final boolean console;
    private final int seqLen;
    private final LongSupplier nanoClock;
    private long t0 = -1;
    private long done0;

    StoreProgress(PrintStream log, boolean console, int seqLen, LongSupplier nanoClock) {
      this.log = log;
      this.console = console;
      this.seqLen = seqLen;
      this.nanoClock = nanoClock;
    }

    @Override
    public void onRows(long done, long total) {
      long now = nanoClock.getAsLong();
      if (t0 < 0) {
        t0 = now;
        done0 = done;
      }
      double seconds = (now - t0) / 1e9;
      double rate = seconds > 0 ? (done - done0) * seqLen / seconds : 0;
      int width = 30;
      int filled = total == 0 ? width : (int) (width * done / total);
      String line = String.format(Locale.ROOT, "scoring [%s%s] %,d/%,d sequences%s",
          "#".repeat(filled), ".".repeat(width - filled), done, total, rate > 0 ? String.format(Locale.ROOT,
              ", %,.0f tok/s, %.0f s left", rate, (total - done) * seqLen / rate) : "");
      if (console) {
        log.print("\r" + line);
      } else {
        log.println(line);
      }
    }

    @Override
    public void close() {
      if (console) {
        log.println();
      }
    }
  }
}
