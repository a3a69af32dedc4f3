package dev.graft.trainer.pretrain;

/**
 * Everything besides tensors that a run needs to continue exactly: the optimizer step, the data
 * position, and the settings that must not change across a resume.
 */
public record TrainerState(
    long step,
    int dataEpoch,
    int dataIndex,
    long tokensSeen,
    long seed,
    int seqLen,
    int batchSize,
    long totalSteps,
    String tokenizerFingerprint) {

  /** Refuses to resume a run whose data-determining settings changed. */
  public void requireCompatible(PretrainConfig cfg, String fingerprint) {
    mismatch("seed", seed, cfg.seed());
    mismatch("seq_len", seqLen, cfg.seqLen());
    mismatch("batch_size", batchSize, cfg.batchSize());
    mismatch("steps", totalSteps, cfg.steps());
    if (!tokenizerFingerprint.equals(fingerprint)) {
      throw new IllegalArgumentException("checkpoint was written with tokenizer " + tokenizerFingerprint
          + " but this run uses " + fingerprint + "; start a new run directory");
    }
  }

  private static void mismatch(String name, long saved, long now) {
    if (saved != now) {
      throw new IllegalArgumentException("checkpoint was written with " + name + "=" + saved
          + " but this run has " + name + "=" + now + "; resume with the same settings or use a new run directory");
    }
  }
}
