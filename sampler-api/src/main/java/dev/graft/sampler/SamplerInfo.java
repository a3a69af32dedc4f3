package dev.graft.sampler;

/**
 * What a sampler serves.
 *
 * @param vocabSize token ids are in [0, vocabSize)
 * @param maxSequenceLength prompt + completion may not exceed this
 * @param policyVersion the version it serves now; -1 before it has any
 * @param policyEpoch the trainer run that published that version; 0 when none is served
 * @param modelFingerprint the fixed checkpoint it serves (e.g. the teacher), as a teacher-service
 *     fingerprints its model; "" for a sampler that follows a trainer's policy versions
 */
public record SamplerInfo(int vocabSize, int maxSequenceLength, long policyVersion, long policyEpoch,
    String modelFingerprint) {

  public SamplerInfo {
    modelFingerprint = modelFingerprint == null ? "" : modelFingerprint;
  }

  /** A sampler that follows a trainer's policy versions. */
  public SamplerInfo(int vocabSize, int maxSequenceLength, long policyVersion, long policyEpoch) {
    this(vocabSize, maxSequenceLength, policyVersion, policyEpoch, "");
  }

  /** A sampler serving a policy installed by hand (epoch 0). */
  public SamplerInfo(int vocabSize, int maxSequenceLength, long policyVersion) {
    this(vocabSize, maxSequenceLength, policyVersion, 0);
  }

  /** The same, naming the fixed checkpoint served. */
  public SamplerInfo servingModel(String fingerprint) {
    return new SamplerInfo(vocabSize, maxSequenceLength, policyVersion, policyEpoch, fingerprint);
  }
}
