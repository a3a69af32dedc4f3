package dev.graft.trainer.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.graft.data.PackedSequences;
import dev.graft.data.SequenceCursor;
import dev.graft.data.TokenBatch;
import dev.graft.model.DecoderLayer;
import dev.graft.retrofit.AlignmentLoss;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherScorer;
import dev.graft.trainer.checkpoint.RunCheckpoints;
import dev.graft.trainer.optim.AdamW;
import dev.graft.trainer.plan.RunPlan;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The staged alignment before end-to-end distillation (MOHAWK stages 1 and 2): for each stage with
 * a budget, in order, every converted layer of the student at α = 1 is trained alone to map the
 * teacher's hidden state at the layer's input to the teacher's at its output ({@link AlignStage}),
 * with the loss {@link AlignmentLoss#normalisedMse} summed over the layers. Inputs come from the
 * teacher, never from the student's earlier layers, so the layers are independent; only the
 * stage's parameters of those layers train (AdamW, constant learning rate, no weight decay).
 * Rows are the run's training sequences ({@code align.data: corpus}) or the teacher's
 * continuations of corpus prompts ({@code seqkd}, {@link TeacherContinuations#sequences}), whose
 * padding after a row's end is masked out of the loss.
 *
 * <p>Each stage checkpoints under {@code ROOT/align-KEY/} (every {@code checkpoint.every} steps and
 * at its last step, which marks it finished) with the student's parameters, the stage's optimizer
 * moments and an {@link AlignState}. A restarted run restores the newest checkpoint of each stage
 * in turn and continues inside the unfinished one with the same data order, so its final
 * parameters are those of an uninterrupted run, bit for bit (with {@code seqkd} rows, which are
 * regenerated from the same prompts and seeds, when the teacher decodes greedily).
 *
 * <pre>
 * for stage: restore(); while (step &lt; steps) { step++; trainStep(); maybeCheckpoint(); }
 * </pre>
 */
final class StagedAlignment {

  /** The most bytes of hidden states one teacher request carries (the teacher's own bound is 1 GiB by default). */
  static final long REQUEST_BYTES = 256L << 20;

  private final RunPlan.Align align;
  private final int seqLen;
  private final long seed;
  private final long every;
  private final int keep;
  private final RetrofitStudent student;
  private final PackedSequences train;
  private final TeacherScorer teacher;
  private final int maxTokensPerRequest;
  private final Path root;
  private final String configFingerprint;
  private final String teacherFingerprint;
  private final StopRequest stop;
  private final LongSupplier nanoClock;
  private final PrintStream log;
  private Retry retry = Supplier::get;
  private TeacherRows teacherRows;

  /** Retries a teacher call while no replica answers. */
  @FunctionalInterface
  interface Retry {
    <T> T call(Supplier<T> call);
  }

  /** Opens the teacher-continuation rows of one stage ({@code align.data: seqkd}). */
  @FunctionalInterface
  interface TeacherRows {
    /**
     * @param stage the stage the rows are for: each stage draws its own prompts and sampling seeds
     * @param steps the stage's last step: nothing is generated ahead past it
     */
    TeacherContinuations open(AlignStage stage, long steps);
  }

  /** One step's rows: (B, T) ids, the mask of real positions (null: every position) and their count. */
  private record Rows(TokenBatch tokens, float[] mask, long positions) {}

  /**
   * @param teacher the teacher whose hidden states are the targets
   * @param root where the stages' checkpoint directories go (the run's {@code checkpoints/})
   */
  StagedAlignment(RunPlan plan, RetrofitStudent student, PackedSequences train, TeacherScorer teacher,
      Path root, String teacherFingerprint, StopRequest stop, LongSupplier nanoClock, PrintStream log) {
    this.align = plan.align();
    this.seqLen = plan.data().seqLen();
    this.seed = plan.train().seed();
    this.every = plan.checkpoint().every();
    this.keep = plan.checkpoint().keep();
    this.student = student;
    this.train = train;
    this.teacher = teacher;
    this.maxTokensPerRequest = teacher.info().maxTokensPerRequest();
    this.root = root;
    this.configFingerprint = plan.fingerprint();
    this.teacherFingerprint = teacherFingerprint;
    this.stop = stop;
    this.nanoClock = nanoClock;
    this.log = log;
  }

  /** Retries teacher calls with {@code retry} (the run's patience with its teachers). */
  StagedAlignment retrying(Retry r) {
    this.retry = r;
    return this;
  }

  /** Reads {@code align.data: seqkd} rows from {@code rows}. */
  StagedAlignment withTeacherRows(TeacherRows rows) {
    this.teacherRows = rows;
    return this;
  }

  /**
   * Runs every stage that has a budget and is not finished; returns each such stage's report.
   *
   * @param finished the run is past the stages (end-to-end distillation has a checkpoint): they are
   *     only read back for the report
   * @throws TrainingStopped when {@code stop} asked for a stop inside a stage
   */
  List<StageReport> run(boolean finished) {
    List<StageReport> out = new ArrayList<>();
    for (AlignStage stage : AlignStage.values()) {
      long budget = stage == AlignStage.MIXER ? align.mixerTokens() : align.blockTokens();
      if (budget > 0) {
        out.add(runStage(stage, budget, finished));
      }
    }
    return out;
  }

  private StageReport runStage(AlignStage stage, long budget, boolean finished) {
    List<Integer> layers = stage.layers(student);
    if (layers.isEmpty()) {
      throw new IllegalArgumentException(stage.budgetKey() + " is " + budget + " but the retrofit "
          + student.retrofit().describe(student.teacherConfig()) + " changes no layer's "
          + (stage == AlignStage.MIXER ? "mixer" : "block") + "; set it to 0");
    }
    long steps = align.steps(budget, seqLen);
    RunCheckpoints store = new RunCheckpoints(root.resolve("align-" + stage.key()), keep);
    Map<String, NDArray> trained = new LinkedHashMap<>();
    student.parameters().forEach((name, p) -> {
      if (layers.stream().anyMatch(l -> stage.trains(name, l))) {
        trained.put(name, p);
      }
    });
    try (AdamW opt = new AdamW(trained, name -> false, AdamW.Hyper.defaults(0), student.model().manager())) {
      Optional<AlignState> restored = finished ? latestState(store) : restore(store, opt);
      if (finished && restored.isEmpty()) {
        throw new IllegalArgumentException("the run directory holds end-to-end checkpoints but no checkpoint of "
            + stage.label() + " (" + store.root() + "): they were made by a run with a different config; use"
            + " another output directory, the same config to resume, or --fresh to start over");
      }
      AlignState state = restored.orElse(new AlignState(stage.key(), 0, steps, 0, 0, 0, 0, configFingerprint,
          teacherFingerprint, List.of()));
      state.requireCompatible(configFingerprint, teacherFingerprint);
      if (finished && state.step() != steps) {
        throw new IllegalStateException("the run has end-to-end checkpoints but " + stage.label()
            + " stopped at step " + state.step() + " of " + steps + " (" + store.root() + ")");
      }
      if (state.step() < steps) {
        state = train(stage, layers, trained, opt, state, store);
      }
      return new StageReport(stage, budget, steps, state.positions(), layers, state.seconds(), state.curve());
    }
  }

  private AlignState train(AlignStage stage, List<Integer> layers, Map<String, NDArray> trained, AdamW opt,
      AlignState from, RunCheckpoints store) {
    log.printf(Locale.ROOT, "%s: %d steps of %d rows x %d positions%s over layers %s%s%n", stage.label(),
        from.steps(), align.batchSize(), seqLen,
        align.data() == RunPlan.AlignData.SEQKD ? " of the teacher's continuations" : "", layers,
        from.step() > 0 ? ", resuming after step " + from.step() : "");
    SequenceCursor cursor = SequenceCursor.over(train, seed + stage.number(),
        new SequenceCursor.Position(from.dataEpoch(), from.dataIndex()));
    List<AlignState.LossPoint> curve = new ArrayList<>(from.curve());
    AlignState state = from;
    double[] alphas = student.alphas();
    student.setAllAlphas(1);
    trained.values().forEach(p -> p.setRequiresGradient(true));
    TeacherContinuations generated = null;
    try {
      if (align.data() == RunPlan.AlignData.SEQKD) {
        if (teacherRows == null) {
          throw new IllegalStateException("align.data seqkd needs samplers that serve the teacher");
        }
        generated = teacherRows.open(stage, from.steps());
      }
      long t0 = nanoClock.getAsLong();
      long positions = from.positions();
      for (long step = from.step() + 1; step <= from.steps(); step++) {
        // 1. data and targets: the teacher's hidden states at the layers' inputs and outputs
        Rows rows = nextBatch(cursor, generated, step);
        TokenBatch tokens = rows.tokens();
        Map<Integer, float[][]> targets = targets(stage, layers, tokens);
        // 2-3. forward + loss, backward: every layer from the teacher's input, losses summed
        double[] losses = backward(stage, layers, targets, rows);
        // 4. step
        opt.update(align.lr());
        // 5. metrics, checkpoint
        double sum = Arrays.stream(losses).sum();
        curve.add(new AlignState.LossPoint(step, sum, Arrays.stream(losses).boxed().toList()));
        double seconds = from.seconds() + (nanoClock.getAsLong() - t0) / 1e9;
        positions += rows.positions();
        state = new AlignState(stage.key(), step, from.steps(), cursor.position().epoch(), cursor.position().index(),
            positions, seconds,
            configFingerprint, teacherFingerprint, curve);
        progress(stage, state, losses);
        boolean due = every > 0 && step % every == 0 || step == from.steps();
        if (due || stop.requested()) {
          Path dir = save(store, opt, state);
          if (stop.requested()) { // also at a stage's end: no new stage starts
            throw new TrainingStopped(step, dir);
          }
        }
      }
      return state;
    } finally {
      if (generated != null) {
        generated.close();
      }
      trained.values().forEach(p -> p.setRequiresGradient(false));
      student.setAlphas(alphas);
    }
  }

  /**
   * The step's rows: the one place the stages' data source ({@code align.data}) is read. Teacher
   * rows are a function of the stage and the step, so a resumed stage regenerates its rows.
   */
  private Rows nextBatch(SequenceCursor cursor, TeacherContinuations generated, long step) {
    return switch (align.data()) {
      case CORPUS -> {
        TokenBatch b = corpusRows(cursor.next(align.batchSize()));
        yield new Rows(b, null, b.batch() * (long) b.length());
      }
      case SEQKD -> {
        TeacherContinuations.Sequences s = generated.sequences(step);
        yield new Rows(s.tokens(), s.mask(), s.positions());
      }
    };
  }

  /** Rows {@code indices} of the training sequences as one (B, T) batch. */
  private TokenBatch corpusRows(int[] indices) {
    int[] ids = new int[indices.length * seqLen];
    for (int r = 0; r < indices.length; r++) {
      System.arraycopy(train.inputs(indices[r]), 0, ids, r * seqLen, seqLen);
    }
    return new TokenBatch(indices.length, seqLen, ids);
  }

  /**
   * Per layer, the teacher's {input, target} over the whole batch; asked for a few rows at a time
   * so that each request stays within the teacher's token limit and {@link #REQUEST_BYTES}.
   */
  private Map<Integer, float[][]> targets(AlignStage stage, List<Integer> layers, TokenBatch tokens) {
    int d = student.teacherConfig().hiddenSize();
    long rowBytes = 2L * layers.size() * seqLen * d * Float.BYTES;
    int rows = (int) Math.max(1, Math.min(tokens.batch(), Math.min(maxTokensPerRequest / seqLen,
        REQUEST_BYTES / rowBytes)));
    Map<Integer, float[][]> out = new LinkedHashMap<>();
    int width = seqLen * d;
    for (int l : layers) {
      out.put(l, new float[][] {new float[tokens.batch() * width], new float[tokens.batch() * width]});
    }
    for (int from = 0; from < tokens.batch(); from += rows) {
      TokenBatch part = tokens.rows(from, Math.min(tokens.batch(), from + rows));
      Scores.HiddenStates h = retry.call(() -> (Scores.HiddenStates) teacher.score(part, stage.request(layers)));
      for (int l : layers) {
        Scores.Layer got = h.layer(l);
        System.arraycopy(stage.input(got), 0, out.get(l)[0], from * width, part.batch() * width);
        System.arraycopy(stage.target(got), 0, out.get(l)[1], from * width, part.batch() * width);
      }
    }
    return out;
  }

  /**
   * The step's forward and backward; returns each layer's loss. With a mask, padding positions
   * count in neither the error nor the normaliser ({@link AlignmentLoss#normalisedMse(NDArray,
   * NDArray, NDArray)}).
   */
  private double[] backward(AlignStage stage, List<Integer> layers, Map<Integer, float[][]> targets, Rows rows) {
    TokenBatch tokens = rows.tokens();
    Shape shape = new Shape(tokens.batch(), seqLen, student.teacherConfig().hiddenSize());
    NDArray[] perLayer = new NDArray[layers.size()];
    try (NDManager m = student.model().manager().newSubManager();
        GradientCollector gc = m.getEngine().newGradientCollector()) {
      NDArray total = null;
      NDArray mask = rows.mask() == null ? null : m.create(rows.mask(), new Shape(tokens.batch(), seqLen));
      for (int k = 0; k < layers.size(); k++) {
        DecoderLayer layer = student.model().layers().get(layers.get(k));
        float[][] io = targets.get(layers.get(k));
        NDArray y = stage.predict(layer, m.create(io[0], shape)); // (B, T, D)
        NDArray target = m.create(io[1], shape);
        perLayer[k] = mask == null ? AlignmentLoss.normalisedMse(y, target)
            : AlignmentLoss.normalisedMse(y, target, mask);
        total = total == null ? perLayer[k] : total.add(perLayer[k]);
      }
      gc.backward(total);
      double[] losses = new double[layers.size()];
      for (int k = 0; k < losses.length; k++) {
        losses[k] = perLayer[k].getFloat();
      }
      return losses;
    }
  }

  /** A line at the first and last step and about every tenth of the stage. */
  private void progress(AlignStage stage, AlignState s, double[] losses) {
    long stride = Math.max(1, s.steps() / 10);
    if (s.step() == 1 || s.step() == s.steps() || s.step() % stride == 0) {
      StringBuilder per = new StringBuilder();
      for (double l : losses) {
        per.append(String.format(Locale.ROOT, " %.4f", l));
      }
      log.printf(Locale.ROOT, "%s step %d/%d: loss %.4f (per layer%s), %,d positions, %.1f s%n", stage.label(),
          s.step(), s.steps(), s.curve().get(s.curve().size() - 1).loss(), per, s.positions(), s.seconds());
    }
  }

  private Optional<AlignState> restore(RunCheckpoints store, AdamW opt) {
    try {
      return store.restoreLatest(student.targetConfig(), student.parameters(), student.model().manager(), opt,
          AlignState.class, AlignState::step);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot restore from " + store.root(), e);
    }
  }

  private static Optional<AlignState> latestState(RunCheckpoints store) {
    try {
      return store.latestState(AlignState.class);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + store.root(), e);
    }
  }

  private Path save(RunCheckpoints store, AdamW opt, AlignState state) {
    try {
      return store.save(state.step(), student.targetConfig(), student.parameters(), opt, state);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the alignment checkpoint at step " + state.step(), e);
    }
  }
}
