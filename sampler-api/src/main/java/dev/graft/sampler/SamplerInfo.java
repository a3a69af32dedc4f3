package dev.graft.sampler;

/**
 * What a sampler serves.
 *
 * @param vocabSize token ids are in [0, vocabSize)
 * @param maxSequenceLength prompt + completion may not exceed this
 * @param policyVersion the version it serves now; -1 before it has any
 */
public record SamplerInfo(int vocabSize, int maxSequenceLength, long policyVersion) {}
