package dev.graft.trainer.pretrain;

/**
 * Settings of a from-scratch cross-entropy run. The defaults train the embedded base model in
 * about ten minutes on two CPU cores.
 *
 * @param seqLen tokens per training sequence
 * @param batchSize sequences per optimizer step
 * @param microBatch sequences per forward/backward pass (gradient accumulation when smaller)
 * @param steps optimizer steps in the whole run
 * @param evalEvery steps between validation passes (0: only at the end)
 * @param evalSequences validation sequences scored by a periodic pass (the final pass scores all)
 * @param checkpointEvery steps between checkpoints (0: only at the end)
 */
public record PretrainConfig(
    int seqLen,
    int batchSize,
    int microBatch,
    long steps,
    double lr,
    long warmupSteps,
    double minLrRatio,
    String schedule,
    double weightDecay,
    double clipNorm,
    long evalEvery,
    int evalSequences,
    long checkpointEvery,
    int keepCheckpoints,
    long seed) {

  public PretrainConfig {
    positive("seq_len", seqLen);
    positive("batch_size", batchSize);
    positive("micro_batch", microBatch);
    positive("steps", steps);
    if (batchSize % microBatch != 0) {
      throw new IllegalArgumentException(
          "batch_size (" + batchSize + ") must be a multiple of micro_batch (" + microBatch + ")");
    }
    if (evalEvery < 0 || checkpointEvery < 0 || evalSequences < 0) {
      throw new IllegalArgumentException("eval_every, eval_sequences and checkpoint_every must be >= 0");
    }
    if (keepCheckpoints < 1) {
      throw new IllegalArgumentException("keep_checkpoints (" + keepCheckpoints + ") must be >= 1");
    }
    if (!(clipNorm >= 0)) {
      throw new IllegalArgumentException("clip_norm (" + clipNorm + ") must be >= 0 (0 disables clipping)");
    }
    // Schedule and optimizer values are validated where they are built.
    dev.graft.trainer.optim.LrSchedule.parse(schedule, lr, warmupSteps, steps, minLrRatio);
    new dev.graft.trainer.optim.AdamW.Hyper(0.9, 0.95, 1e-8, weightDecay);
  }

  /** The default run for the embedded base model. */
  public static PretrainConfig defaults() {
    return new PretrainConfig(128, 16, 16, 1200, 2e-3, 100, 0.1, "cosine", 0.1, 1.0,
        200, 96, 200, 2, 1234);
  }

  public PretrainConfig withSteps(long n) {
    return new PretrainConfig(seqLen, batchSize, microBatch, n, lr, Math.min(warmupSteps, n),
        minLrRatio, schedule, weightDecay, clipNorm, evalEvery, evalSequences, checkpointEvery,
        keepCheckpoints, seed);
  }

  public PretrainConfig withBatch(int batch, int micro) {
    return new PretrainConfig(seqLen, batch, micro, steps, lr, warmupSteps, minLrRatio, schedule,
        weightDecay, clipNorm, evalEvery, evalSequences, checkpointEvery, keepCheckpoints, seed);
  }

  public PretrainConfig withSeqLen(int n) {
    return new PretrainConfig(n, batchSize, microBatch, steps, lr, warmupSteps, minLrRatio, schedule,
        weightDecay, clipNorm, evalEvery, evalSequences, checkpointEvery, keepCheckpoints, seed);
  }

  public PretrainConfig withLr(double peak, long warmup) {
    return new PretrainConfig(seqLen, batchSize, microBatch, steps, peak, warmup, minLrRatio,
        schedule, weightDecay, clipNorm, evalEvery, evalSequences, checkpointEvery,
        keepCheckpoints, seed);
  }

  /** The same run from seed {@code s}: initialisation and data order (and the split, unless a job fixes it). */
  public PretrainConfig withSeed(long s) {
    return new PretrainConfig(seqLen, batchSize, microBatch, steps, lr, warmupSteps, minLrRatio,
        schedule, weightDecay, clipNorm, evalEvery, evalSequences, checkpointEvery, keepCheckpoints, s);
  }

  public PretrainConfig withIntervals(long eval, int evalSeqs, long checkpoint) {
    return new PretrainConfig(seqLen, batchSize, microBatch, steps, lr, warmupSteps, minLrRatio,
        schedule, weightDecay, clipNorm, eval, evalSeqs, checkpoint, keepCheckpoints, seed);
  }

  private static void positive(String name, long v) {
    if (v <= 0) {
      throw new IllegalArgumentException(name + " (" + v + ") must be > 0");
    }
  }
}
