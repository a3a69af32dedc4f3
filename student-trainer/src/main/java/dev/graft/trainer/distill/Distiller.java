package dev.graft.trainer.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.graft.data.PackedSequences;
import dev.graft.data.SequenceCursor;
import dev.graft.model.Scalars;
import dev.graft.retrofit.AlphaSchedule;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.sampler.RolloutSource;
import dev.graft.sampler.sync.PolicyUpdate;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherScorer;
import dev.graft.trainer.data.Batch;
import dev.graft.trainer.loss.DistillationLoss;
import dev.graft.trainer.loss.Divergence;
import dev.graft.trainer.loss.TokenLoss;
import dev.graft.trainer.optim.AdamW;
import dev.graft.trainer.optim.GradClip;
import dev.graft.trainer.optim.LrSchedule;
import dev.graft.trainer.pretrain.RunCheckpoints;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongSupplier;

/**
 * Off-policy self-distillation of a retrofitted student: each step drives α by the schedule,
 * minimises the configured divergence to the teacher's targets on a batch of corpus sequences
 * (or cross-entropy, the baseline), clips, and takes an AdamW step. The teacher scores the next
 * batch on another thread while the current one trains. A run restored from its newest checkpoint
 * continues exactly: weights, optimizer moments, step (hence α and learning rate) and data position.
 */
public final class Distiller {

  /** Progress of one step. */
  public record StepStats(long step, double loss, double lr, double gradNorm, double tokensPerSecond,
      double meanAlpha, double teacherWaitSeconds, long policyVersion, long oldestRolloutVersion,
      long staleRolloutsDropped) {

    /** Stats of an off-policy step. */
    public StepStats(long step, double loss, double lr, double gradNorm, double tokensPerSecond,
        double meanAlpha, double teacherWaitSeconds) {
      this(step, loss, lr, gradNorm, tokensPerSecond, meanAlpha, teacherWaitSeconds, -1, -1, 0);
    }
  }

  /** Receives progress; every method has a no-op default. */
  public interface Listener {
    /** The untrained student at α = 1, measured before training: the start of the KL gap. */
    default void onBaseline(DistillEvaluator.Result before) {}

    default void onStart(long fromStep, long totalSteps) {}

    default void onStep(StepStats stats) {}

    default void onEval(long step, DistillEvaluator.Result result) {}

    default void onCheckpoint(long step, Path dir) {}
  }

  /** How a run ended. */
  public record Outcome(long steps, double lastLoss, long tokensSeen, double trainSeconds,
      double teacherWaitSeconds, DistillEvaluator.Result evaluation) {}

  /**
   * Everything that does not change during a run.
   *
   * @param samplers where on-policy rows are generated; null when {@code onpolicy.fraction} is 0
   * @param publisher where policy versions go; null when {@code onpolicy.fraction} is 0
   * @param padId the id that fills on-policy rows after their completion
   */
  public record Setup(RunConfig config, RetrofitStudent student, AlphaSchedule alphas,
      PackedSequences train, TeacherScorer teacher, DistillEvaluator evaluator,
      RunCheckpoints checkpoints, String configFingerprint, String teacherFingerprint,
      RolloutSource samplers, PolicyPublisher publisher, int padId) {

    /** An off-policy setup. */
    public Setup(RunConfig config, RetrofitStudent student, AlphaSchedule alphas,
        PackedSequences train, TeacherScorer teacher, DistillEvaluator evaluator,
        RunCheckpoints checkpoints, String configFingerprint, String teacherFingerprint) {
      this(config, student, alphas, train, teacher, evaluator, checkpoints, configFingerprint,
          teacherFingerprint, null, null, 0);
    }
  }

  /** A drawn batch: its data position, and its (on-policy rows and) teacher targets on the way. */
  private record Pending(SequenceCursor.Position after, Future<Targets> targets) {}

  /** A batch ready to train on. */
  private record Targets(Batch batch, Scores scores, long minVersion) {}

  private final Setup s;
  private final RunConfig.Train t;
  private final Divergence divergence;
  private final ScoreRequest request;
  private final float tau;
  private final Listener listener;
  private final LongSupplier nanoClock;
  private final Map<String, NDArray> params;
  private final LrSchedule schedule;
  private SequenceCursor cursor;
  private long step;
  private long tokensSeen;
  private double lastLoss = Double.NaN;
  private double waitSeconds;
  private final OnPolicyData onPolicy;
  private final java.util.concurrent.atomic.AtomicLong publishedVersion =
      new java.util.concurrent.atomic.AtomicLong(-1);

  public Distiller(Setup setup, Listener listener, LongSupplier nanoClock) {
    this.s = setup;
    this.t = setup.config().train();
    this.divergence = Divergence.parse(setup.config().loss().divergence());
    this.request = RunValidation.trainingRequest(setup.config());
    this.tau = (float) setup.config().loss().temperature();
    if (divergence.usesTeacher() && setup.teacher() == null) {
      throw new IllegalArgumentException(divergence.spec() + " needs a teacher");
    }
    if (setup.train().seqLen() != setup.config().data().seqLen()) {
      throw new IllegalArgumentException("training data packed with seq_len " + setup.train().seqLen()
          + " but the run has data.seq_len " + setup.config().data().seqLen());
    }
    this.listener = listener;
    this.nanoClock = nanoClock;
    this.params = setup.student().parameters();
    this.schedule = LrSchedule.parse(t.schedule(), t.lr(), t.warmupSteps(), t.steps(), t.minLrRatio());
    boolean on = OnPolicyData.onPolicyRows(setup.config().onpolicy(), t.batchSize()) > 0;
    if (on && (setup.samplers() == null || setup.publisher() == null)) {
      throw new IllegalArgumentException("onpolicy.fraction " + setup.config().onpolicy().fraction()
          + " needs samplers and a policy publisher");
    }
    this.onPolicy = on ? new OnPolicyData(setup.config().onpolicy(), setup.samplers(), setup.padId(),
        publishedVersion::get) : null;
  }

  public Outcome run() {
    params.values().forEach(p -> p.setRequiresGradient(true));
    ExecutorService prefetch = Executors.newSingleThreadExecutor(r -> {
      Thread th = new Thread(r, "teacher-prefetch");
      th.setDaemon(true);
      return th;
    });
    try (AdamW opt = new AdamW(params, AdamW.matricesDecay(params),
        AdamW.Hyper.defaults(t.weightDecay()), s.student().model().manager())) {
      restore(opt);
      publish();
      listener.onStart(step, t.steps());
      long t0 = nanoClock.getAsLong();
      long tokens0 = tokensSeen;
      Pending next = step < t.steps() ? draw(prefetch) : null;
      while (step < t.steps()) {
        step++;
        Pending current = next;
        next = step < t.steps() ? draw(prefetch) : null;
        trainStep(opt, current, t0, tokens0);
        maybePublish();
        maybeCheckpoint(opt, current.after());
        maybeEvaluate();
      }
      double seconds = (nanoClock.getAsLong() - t0) / 1e9;
      DistillEvaluator.Result last = s.evaluator().evaluate(s.student().model());
      listener.onEval(step, last);
      return new Outcome(step, lastLoss, tokensSeen, seconds, waitSeconds, last);
    } finally {
      prefetch.shutdownNow();
      params.values().forEach(p -> p.setRequiresGradient(false));
    }
  }

  private void restore(AdamW opt) {
    try {
      var restored = s.checkpoints().restoreLatest(s.student().targetConfig(), params,
          s.student().model().manager(), opt, DistillState.class, DistillState::step);
      if (restored.isPresent()) {
        DistillState st = restored.get();
        st.requireCompatible(s.configFingerprint(), s.teacherFingerprint());
        step = st.step();
        tokensSeen = st.tokensSeen();
        lastLoss = st.lastLoss();
        cursor = new SequenceCursor(s.train().size(), t.seed(),
            new SequenceCursor.Position(st.dataEpoch(), st.dataIndex()));
      } else {
        cursor = new SequenceCursor(s.train().size(), t.seed(), SequenceCursor.Position.START);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot restore from " + s.checkpoints().root(), e);
    }
  }

  /**
   * Takes the next batch from the data order and, asynchronously, has its on-policy rows
   * generated and the teacher score it.
   */
  private Pending draw(ExecutorService prefetch) {
    Batch b = Batch.of(s.train(), cursor.next(t.batchSize()));
    SequenceCursor.Position after = cursor.position();
    long forStep = step + 1;
    if (onPolicy == null && !divergence.usesTeacher()) {
      return new Pending(after, CompletableFuture.completedFuture(new Targets(b, null, -1)));
    }
    return new Pending(after, prefetch.submit(() -> {
      Batch full = b;
      long minVersion = -1;
      if (onPolicy != null) {
        OnPolicyData.Result r = onPolicy.complete(b, forStep);
        full = r.batch();
        minVersion = r.minVersion();
      }
      Scores scores = divergence.usesTeacher() ? s.teacher().score(rows(full), request) : null;
      return new Targets(full, scores, minVersion);
    }));
  }

  /** Sends the student at its current αs to the samplers as version {@code step}. */
  private void publish() {
    if (onPolicy == null || publishedVersion.get() >= step) {
      return;
    }
    try (NDManager m = s.student().model().manager().newSubManager()) {
      RetrofitStudent.Materialized mat = s.student().materialize(m);
      Map<String, float[]> tensors = new java.util.TreeMap<>();
      mat.tensors().forEach((n, a) -> tensors.put(n, a.toFloatArray()));
      s.publisher().publish(new PolicyUpdate(step, mat.config(), tensors));
      publishedVersion.set(step);
    }
  }

  private void maybePublish() {
    if (onPolicy != null && step % s.config().onpolicy().publishEvery() == 0 && step < t.steps()) {
      publish();
    }
  }

  private void trainStep(AdamW opt, Pending p, long t0, long tokens0) {
    // 1. schedule: learning rate and α are functions of the step
    double lr = schedule.lr(step);
    double[] alphas = s.alphas().alphas(step);
    s.student().setAlphas(alphas);
    Targets ready = await(p.targets());
    Batch batch = ready.batch();
    Scores scores = ready.scores();
    long tokens = batch.tokens();
    // 2-3. forward + loss, backward: each micro-batch's summed loss is divided by the whole
    // batch's token count, so the accumulated gradient does not depend on the split.
    double sum = 0;
    for (int from = 0; from < t.batchSize(); from += t.microBatch()) {
      sum += microStep(batch, scores, from, Math.min(t.batchSize(), from + t.microBatch()), tokens);
    }
    // 4. clip + step
    double gradNorm = t.clipNorm() > 0 ? GradClip.clipGlobalNorm(params, t.clipNorm()) : Double.NaN;
    opt.update(lr);
    // 5. metrics
    tokensSeen += tokens;
    lastLoss = sum / tokens;
    double seconds = Math.max(1e-9, (nanoClock.getAsLong() - t0) / 1e9);
    listener.onStep(new StepStats(step, lastLoss, lr, gradNorm, (tokensSeen - tokens0) / seconds,
        Arrays.stream(alphas).average().orElse(1), waitSeconds, publishedVersion.get(),
        ready.minVersion(), onPolicy == null ? 0 : onPolicy.staleDropped()));
  }

  private double microStep(Batch batch, Scores scores, int from, int to, long batchTokens) {
    Batch micro = batch.slice(from, to);
    try (NDManager m = s.student().model().manager().newSubManager();
        GradientCollector gc = m.getEngine().newGradientCollector()) {
      NDArray logits = s.student().model().forward(micro.inputs(m)); // (b, T, V)
      NDArray mask = micro.mask(m);
      NDArray sum = divergence.usesTeacher()
          ? DistillationLoss.sum(divergence, logits, TargetsView.rows(scores, from, to, m), mask, tau)
          : TokenLoss.crossEntropySum(logits, micro.targets(m), mask);
      gc.backward(Scalars.div(sum, (float) batchTokens));
      return sum.getFloat();
    }
  }

  private Targets await(Future<Targets> f) {
    long w0 = nanoClock.getAsLong();
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the teacher", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException("teacher scoring or generation failed at step " + step, e.getCause());
    } finally {
      waitSeconds += (nanoClock.getAsLong() - w0) / 1e9;
    }
  }

  private void maybeCheckpoint(AdamW opt, SequenceCursor.Position after) {
    long every = s.config().checkpoint().every();
    if (!(every > 0 && step % every == 0) && step != t.steps()) {
      return;
    }
    DistillState state = new DistillState(step, after.epoch(), after.index(), tokensSeen, t.seed(),
        s.configFingerprint(), s.teacherFingerprint(), lastLoss);
    try {
      listener.onCheckpoint(step, s.checkpoints().save(step, s.student().targetConfig(), params, opt, state));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint at step " + step, e);
    }
  }

  private void maybeEvaluate() {
    long every = s.config().eval().every();
    if (every > 0 && step % every == 0 && step != t.steps()) {
      listener.onEval(step, s.evaluator().evaluate(s.student().model()));
    }
  }

  static int[][] rows(Batch b) {
    int[][] rows = new int[b.batchSize()][b.seqLen()];
    for (int r = 0; r < rows.length; r++) {
      for (int i = 0; i < b.seqLen(); i++) {
        rows[r][i] = (int) b.inputs()[r * b.seqLen() + i];
      }
    }
    return rows;
  }
}
