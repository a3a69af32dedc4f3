package dev.graft.trainer.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.graft.data.PackedSequences;
import dev.graft.data.SequenceCursor;
import dev.graft.model.LlamaModel;
import dev.graft.model.VocabBudget;
import dev.graft.trainer.checkpoint.RunCheckpoints;
import dev.graft.trainer.data.Batch;
import dev.graft.trainer.loss.ChunkedHeadLoss;
import dev.graft.trainer.loss.TokenLoss;
import dev.graft.trainer.optim.AdamW;
import dev.graft.trainer.optim.GradClip;
import dev.graft.trainer.optim.LrSchedule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Trains a language model from scratch with cross-entropy on packed sequences: AdamW, global-norm
 * clipping, a warmup schedule, periodic validation and checkpoints. A run restored from its latest
 * checkpoint continues exactly: weights, optimizer moments, step and data position.
 */
public final class Pretrainer {

  /** Receives progress; every method has a no-op default. */
  public interface Listener {
    default void onStart(long fromStep, long totalSteps) {}

    default void onStep(long step, double loss, double lr, double gradNorm, double tokensPerSecond) {}

    default void onEval(long step, LmEvaluator.Result result) {}

    default void onCheckpoint(long step, java.nio.file.Path dir) {}
  }

  /** How a run ended. */
  /**
   * @param tokensSeen every token trained on since step 0, across resumes
   * @param tokensThisRun the tokens trained on since this run (re)started, in {@code trainSeconds}
   */
  public record Outcome(long steps, double lastTrainLoss, long tokensSeen, long tokensThisRun,
      double trainSeconds, LmEvaluator.Result validation) {}

  private final PretrainConfig cfg;
  private final LlamaModel model;
  private final PackedSequences train;
  private final PackedSequences validation;
  private final RunCheckpoints checkpoints;
  private final String tokenizerFingerprint;
  private final Listener listener;
  private final LongSupplier nanoClock;
  private final Map<String, NDArray> params;
  private final LrSchedule schedule;
  private final LmEvaluator evaluator;
  private final int chunkPositions;
  private SequenceCursor cursor;
  private long step;
  private long tokensSeen;
  private double lastLoss = Double.NaN;

  public Pretrainer(PretrainConfig cfg, LlamaModel model, PackedSequences train,
      PackedSequences validation, RunCheckpoints checkpoints, String tokenizerFingerprint,
      Listener listener, LongSupplier nanoClock) {
    if (train.seqLen() != cfg.seqLen() || validation.seqLen() != cfg.seqLen()) {
      throw new IllegalArgumentException("data packed with seq_len " + train.seqLen()
          + " but the run has seq_len " + cfg.seqLen());
    }
    if (cfg.seqLen() > model.config().maxPositionEmbeddings()) {
      throw new IllegalArgumentException("seq_len (" + cfg.seqLen()
          + ") exceeds the model's max_position_embeddings (" + model.config().maxPositionEmbeddings() + ")");
    }
    this.cfg = cfg;
    this.model = model;
    this.train = train;
    this.validation = validation;
    this.checkpoints = checkpoints;
    this.tokenizerFingerprint = tokenizerFingerprint;
    this.listener = listener;
    this.nanoClock = nanoClock;
    this.params = model.namedParameters();
    this.schedule = LrSchedule.parse(cfg.schedule(), cfg.lr(), cfg.warmupSteps(), cfg.steps(), cfg.minLrRatio());
    VocabBudget budget = VocabBudget.DEFAULT;
    this.evaluator = new LmEvaluator(Math.min(cfg.microBatch(), 32), budget);
    this.chunkPositions = ChunkedHeadLoss.chunkPositions(budget, model.config().vocabSize());
  }

  public Outcome run() {
    params.values().forEach(p -> p.setRequiresGradient(true));
    try (AdamW opt = new AdamW(params, AdamW.matricesDecay(params),
        AdamW.Hyper.defaults(cfg.weightDecay()), model.manager())) {
      restore(opt);
      listener.onStart(step, cfg.steps());
      long t0 = nanoClock.getAsLong();
      long tokens0 = tokensSeen;
      while (step < cfg.steps()) {
        step++;
        trainStep(opt, t0, tokens0);
        maybeCheckpoint(opt);
        maybeEvaluate();
      }
      double seconds = (nanoClock.getAsLong() - t0) / 1e9;
      LmEvaluator.Result finalEval = evaluator.evaluate(model, validation, 0);
      listener.onEval(step, finalEval);
      return new Outcome(step, lastLoss, tokensSeen, tokensSeen - tokens0, seconds, finalEval);
    } finally {
      params.values().forEach(p -> p.setRequiresGradient(false));
    }
  }

  private void restore(AdamW opt) {
    try {
      var restored = checkpoints.restoreLatest(model, opt);
      if (restored.isPresent()) {
        TrainerState s = restored.get();
        s.requireCompatible(cfg, tokenizerFingerprint);
        step = s.step();
        tokensSeen = s.tokensSeen();
        cursor = new SequenceCursor(train.size(), cfg.seed(), new SequenceCursor.Position(s.dataEpoch(), s.dataIndex()));
      } else {
        cursor = new SequenceCursor(train.size(), cfg.seed(), SequenceCursor.Position.START);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot restore from " + checkpoints.root(), e);
    }
  }

  private void trainStep(AdamW opt, long t0, long tokens0) {
    // 1. schedule
    double lr = schedule.lr(step);
    Batch batch = Batch.of(train, cursor.next(cfg.batchSize()));
    long tokens = batch.tokens();
    // 2-3. forward + loss, backward: each micro-batch's summed loss is divided by the whole batch's
    // token count, so the accumulated gradient does not depend on how the batch is split.
    double nll = 0;
    for (int from = 0; from < cfg.batchSize(); from += cfg.microBatch()) {
      nll += microStep(batch.slice(from, from + cfg.microBatch()), tokens);
    }
    // 4. clip + step
    double gradNorm = GradClip.clipGlobalNorm(params, cfg.clipNorm());
    opt.update(lr);
    // 5. metrics
    tokensSeen += tokens;
    lastLoss = nll / tokens;
    double seconds = Math.max(1e-9, (nanoClock.getAsLong() - t0) / 1e9);
    listener.onStep(step, lastLoss, lr, gradNorm, (tokensSeen - tokens0) / seconds);
  }

  private double microStep(Batch micro, long batchTokens) {
    try (NDManager m = model.manager().newSubManager();
        GradientCollector gc = m.getEngine().newGradientCollector()) {
      NDArray hidden = model.hidden(micro.inputs(m)); // (b, T, hidden)
      NDArray targets = micro.targets(m).reshape(1, -1); // (1, b·T)
      NDArray mask = micro.mask(m).reshape(1, -1); // (1, b·T)
      // The head, loss and backward a chunk of positions at a time: (chunk, V) buffers only.
      return ChunkedHeadLoss.backward(gc, hidden, model::logits, (logits, p0, p1) -> TokenLoss.crossEntropySum(
          logits, targets.get(":, {}:{}", p0, p1), mask.get(":, {}:{}", p0, p1)), batchTokens, chunkPositions);
    }
  }

  private void maybeCheckpoint(AdamW opt) {
    boolean due = cfg.checkpointEvery() > 0 && step % cfg.checkpointEvery() == 0;
    if (!due && step != cfg.steps()) {
      return;
    }
    SequenceCursor.Position pos = cursor.position();
    TrainerState state = new TrainerState(step, pos.epoch(), pos.index(), tokensSeen, cfg.seed(),
        cfg.seqLen(), cfg.batchSize(), cfg.steps(), tokenizerFingerprint);
    try {
      listener.onCheckpoint(step, checkpoints.save(model, opt, state));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint at step " + step, e);
    }
  }

  private void maybeEvaluate() {
    if (cfg.evalEvery() > 0 && step % cfg.evalEvery() == 0 && step != cfg.steps()) {
      listener.onEval(step, evaluator.evaluate(model, validation, cfg.evalSequences()));
    }
  }
}
