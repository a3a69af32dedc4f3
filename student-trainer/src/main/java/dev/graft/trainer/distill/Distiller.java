package dev.graft.trainer.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.graft.data.SequenceCursor;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.teacher.Scores;
import dev.graft.trainer.data.Batch;
import dev.graft.trainer.loss.ChunkedHeadLoss;
import dev.graft.trainer.loss.DistillationLoss;
import dev.graft.trainer.loss.Divergence;
import dev.graft.trainer.loss.SeqKdLoss;
import dev.graft.trainer.loss.TokenLoss;
import dev.graft.trainer.optim.AdamW;
import dev.graft.trainer.optim.GradClip;
import dev.graft.trainer.plan.RunPlan;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Self-distillation of a retrofitted student: each step drives α by the schedule, minimises the
 * configured divergence to the teacher's targets on a batch (corpus rows, and on-policy rows
 * completed by the current student) or cross-entropy (the baseline) — on teacher-continuation rows
 * ({@code seqkd}) cross-entropy on the teacher's tokens plus the weighted divergence
 * ({@link SeqKdLoss}) — clips, and takes an AdamW step. The next batch is completed and scored
 * while the current one trains ({@link BatchPipeline}); the student goes to the samplers every
 * {@code publish_every} steps ({@link StudentPublisher}). A run restored from its newest
 * checkpoint continues exactly: weights, optimizer moments, step (hence α and learning rate) and
 * data position. A {@link StopRequest} ends the loop after the current step with a checkpoint
 * ({@link TrainingStopped}).
 *
 * <pre>
 * restore(); publish(); while (step &lt; steps) { step++; trainStep(); maybePublish(); maybeCheckpoint(); maybeEvaluate(); }
 * </pre>
 */
public final class Distiller {

  private final RunPlan.Bound plan;
  private final RunPlan.Train t;
  private final Divergence divergence;
  private final float tau;
  private final RetrofitStudent student;
  private final Map<String, NDArray> params;
  private final BatchPipeline batches;
  private final StudentPublisher publisher; // null when off-policy
  private final DistillCheckpoints checkpoints;
  private final DistillEvaluator evaluator;
  private final DistillListener listener;
  private final LongSupplier nanoClock;
  private final StopRequest stop;
  private final int chunkPositions;
  private final RunPlan.SeqKd seqkd;
  private final int seqkdFrom; // rows [seqkdFrom, seqkdTo) of every batch are the teacher's continuations
  private final int seqkdTo;
  private long step;
  private long tokensSeen;
  private double lastLoss = Double.NaN;

  Distiller(RunPlan.Bound plan, RetrofitStudent student, BatchPipeline batches, StudentPublisher publisher,
      DistillCheckpoints checkpoints, DistillEvaluator evaluator, DistillListener listener,
      LongSupplier nanoClock, StopRequest stop) {
    this.plan = plan;
    this.t = plan.plan().train();
    this.divergence = plan.plan().loss().divergence();
    this.tau = plan.plan().loss().temperature();
    this.student = student;
    this.params = student.parameters();
    this.batches = batches;
    this.publisher = publisher;
    this.checkpoints = checkpoints;
    this.evaluator = evaluator;
    this.listener = listener;
    this.nanoClock = nanoClock;
    this.stop = stop;
    this.chunkPositions = ChunkedHeadLoss.chunkPositions(plan.plan().vocabBudget(),
        student.model().config().vocabSize());
    this.seqkd = plan.plan().seqkd();
    this.seqkdTo = t.batchSize() - plan.plan().onpolicy().rows();
    this.seqkdFrom = seqkdTo - seqkd.rows();
  }

  /** Trains to {@code train.steps}, from the newest checkpoint if there is one. */
  public DistillOutcome run() {
    params.values().forEach(p -> p.setRequiresGradient(true));
    try (AdamW opt = new AdamW(params, AdamW.matricesDecay(params),
        AdamW.Hyper.defaults(t.weightDecay()), student.model().manager());
        BatchPipeline pipeline = batches) {
      restore(opt);
      if (publisher != null) {
        publisher.publish(step); // at the α of this step: version 0 of a gradual run is the teacher
      }
      listener.onStart(step, t.steps());
      long t0 = nanoClock.getAsLong();
      long tokens0 = tokensSeen;
      if (stop.requested()) {
        throw new TrainingStopped(step, null);
      }
      BatchPipeline.Pending next = step < t.steps() ? pipeline.draw(step + 1) : null;
      while (step < t.steps()) {
        step++;
        BatchPipeline.Pending current = next;
        next = step < t.steps() ? pipeline.draw(step + 1) : null;
        trainStep(opt, pipeline.await(current, step), t0, tokens0);
        if (publisher != null) {
          publisher.maybePublish(step, t.steps());
        }
        Optional<Path> saved = checkpoints.maybeSave(step, t.steps(), opt, current.after(), tokensSeen, lastLoss);
        saved.ifPresent(dir -> listener.onCheckpoint(step, dir));
        if (stop.requested() && step < t.steps()) {
          // Stop here: the batch drawn ahead is dropped; a restart draws it again from the data position.
          Path dir = saved.orElseGet(() -> checkpoints.save(step, opt, current.after(), tokensSeen, lastLoss));
          if (saved.isEmpty()) {
            listener.onCheckpoint(step, dir);
          }
          throw new TrainingStopped(step, dir);
        }
        maybeEvaluate();
      }
      double seconds = (nanoClock.getAsLong() - t0) / 1e9;
      // The headline describes the student that ships, whatever the schedule did: every α at 1.
      student.setAllAlphas(1);
      Evaluation last = evaluate();
      OnPolicyData on = pipeline.onPolicy();
      return new DistillOutcome(step, lastLoss, tokensSeen, seconds, pipeline.waitSeconds(), last,
          on == null ? 0 : on.generatedTokens(), on == null ? 0 : on.staleDropped(),
          on == null ? 0 : on.foreignDropped(), on == null ? 0 : on.fallbackRows(),
          on == null ? new long[0] : on.lagHistogram(), publisher == null ? -1 : publisher.latestVersion(),
          pipeline.teacherRows() == null ? null : pipeline.teacherRows().stats());
    } finally {
      params.values().forEach(p -> p.setRequiresGradient(false));
    }
  }

  private void restore(AdamW opt) {
    Optional<DistillState> restored = checkpoints.restore(opt);
    restored.ifPresent(st -> {
      step = st.step();
      tokensSeen = st.tokensSeen();
      lastLoss = st.lastLoss();
    });
    batches.seek(restored.map(st -> new SequenceCursor.Position(st.dataEpoch(), st.dataIndex()))
        .orElse(SequenceCursor.Position.START));
  }

  private void trainStep(AdamW opt, BatchPipeline.Ready ready, long t0, long tokens0) {
    // 1. schedule: learning rate and α are functions of the step
    double lr = t.schedule().lr(step);
    double[] alphas = plan.alphas().alphas(step);
    student.setAlphas(alphas);
    Batch batch = ready.batch();
    long tokens = batch.tokens();
    // 2-3. forward + loss, backward: each micro-batch's summed loss is divided by the whole
    // batch's token count, so the accumulated gradient does not depend on the split.
    double sum = 0;
    for (int from = 0; from < t.batchSize(); from += t.microBatch()) {
      sum += microStep(batch, ready.scores(), from, Math.min(t.batchSize(), from + t.microBatch()), tokens);
    }
    // 4. clip + step
    double gradNorm = t.clipNorm() > 0 ? GradClip.clipGlobalNorm(params, t.clipNorm()) : Double.NaN;
    opt.update(lr);
    // 5. metrics
    tokensSeen += tokens;
    lastLoss = sum / tokens;
    double seconds = Math.max(1e-9, (nanoClock.getAsLong() - t0) / 1e9);
    OnPolicyData on = batches.onPolicy();
    listener.onStep(new StepStats(step, lastLoss, lr, gradNorm, (tokensSeen - tokens0) / seconds,
        Arrays.stream(alphas).average().orElse(1), batches.waitSeconds(),
        publisher == null ? -1 : publisher.latestVersion(), ready.lag(), on == null ? 0 : on.staleDropped(),
        on == null ? 0 : on.foreignDropped(), on == null ? 0 : on.fallbackRows(), tokens));
  }

  private double microStep(Batch batch, Scores scores, int from, int to, long batchTokens) {
    Batch micro = batch.slice(from, to);
    int first = from * batch.seqLen(); // the micro-batch's first position in the batch's targets
    try (NDManager m = student.model().manager().newSubManager();
        GradientCollector gc = m.getEngine().newGradientCollector()) {
      NDArray hidden = student.model().hidden(micro.inputs(m)); // (b, T, hidden)
      NDArray mask = micro.mask(m).reshape(1, -1); // (1, b·T)
      NDArray targets = micro.targets(m).reshape(1, -1); // (1, b·T)
      NDArray[] seqkdMasks = seqkdMasks(micro, from, to, m); // null without teacher-continuation rows here
      // The head, loss and backward a chunk of positions at a time: (chunk, V) buffers only.
      return ChunkedHeadLoss.backward(gc, hidden, student.model()::logits, (logits, p0, p1) -> {
        NDArray chunkMask = mask.get(":, {}:{}", p0, p1); // (1, c)
        if (seqkdMasks != null) {
          return SeqKdLoss.sum(divergence, logits, divergence.usesTeacher()
                  ? TargetsView.positions(scores, first + p0, first + p1, logits.getManager()) : null,
              targets.get(":, {}:{}", p0, p1), seqkdMasks[0].get(":, {}:{}", p0, p1),
              seqkdMasks[1].get(":, {}:{}", p0, p1), seqkd.ceWeight(), seqkd.klWeight(), tau);
        }
        return divergence.usesTeacher()
            ? DistillationLoss.sum(divergence, logits,
                TargetsView.positions(scores, first + p0, first + p1, logits.getManager()), chunkMask, tau)
            : TokenLoss.crossEntropySum(logits, targets.get(":, {}:{}", p0, p1), chunkMask);
      }, batchTokens, chunkPositions);
    }
  }

  /**
   * For a micro-batch of rows [from, to) that holds teacher-continuation rows: (1, b·T) weights of
   * the positions under the run's own loss, and (1, b·T) marks of the continuation positions; null
   * when it holds none.
   */
  private NDArray[] seqkdMasks(Batch micro, int from, int to, NDManager m) {
    int lo = Math.max(from, seqkdFrom);
    int hi = Math.min(to, seqkdTo);
    if (lo >= hi) {
      return null;
    }
    int t = micro.seqLen();
    float[] base = micro.mask().clone();
    float[] continuation = new float[base.length];
    for (int i = (lo - from) * t; i < (hi - from) * t; i++) {
      continuation[i] = base[i];
      base[i] = 0;
    }
    return new NDArray[] {m.create(base, new Shape(1, base.length)), m.create(continuation, new Shape(1, base.length))};
  }

  private void maybeEvaluate() {
    long every = plan.plan().eval().every();
    if (every > 0 && step % every == 0 && step != t.steps()) {
      evaluate();
    }
  }

  /** Scores the student at its current α and tells the listener. */
  private Evaluation evaluate() {
    double meanAlpha = Arrays.stream(student.alphas()).average().orElse(1);
    Evaluation e = new Evaluation(step, meanAlpha, evaluator.evaluate(student.model()));
    listener.onEval(e);
    return e;
  }
}
