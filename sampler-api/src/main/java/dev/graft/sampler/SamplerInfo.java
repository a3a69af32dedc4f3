package dev.graft.sampler;

/**
 * What a sampler serves.
 *
 * @param vocabSize token ids are in [0, vocabSize)
 * @param maxSequenceLength prompt + completion may not exceed this
 * @param policyVersion the version it serves now; -1 before it has any
 * @param policyEpoch the trainer run that published that version; 0 when none is served
 */
public record SamplerInfo(int vocabSize, int maxSequenceLength, long policyVersion, long policyEpoch) {

  /** A sampler serving a policy installed by hand (epoch 0). */
  public SamplerInfo(int vocabSize, int maxSequenceLength, long policyVersion) {
    this(vocabSize, maxSequenceLength, policyVersion, 0);
  }
}
