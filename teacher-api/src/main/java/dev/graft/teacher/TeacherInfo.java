package dev.graft.teacher;

/**
 * Describes a teacher so a trainer can refuse an incompatible one before any work starts.
 *
 * @param architecture e.g. {@code LlamaForCausalLM}
 * @param vocabSize the model's vocabulary size
 * @param tokenizerFingerprint sha256 of the teacher's {@code tokenizer.json}, or empty if it
 *     has none
 * @param modelFingerprint a digest of the checkpoint's config and tensors, stable across loads
 * @param maxSequenceLength the longest sequence one request may score
 * @param maxTokensPerRequest the most tokens (B·T) one request may carry
 * @param parameterCount the teacher's parameter count
 * @param kvCacheBytesPerToken the teacher's KV-cache bytes per token at fp32
 */
public record TeacherInfo(
    String architecture,
    int vocabSize,
    String tokenizerFingerprint,
    String modelFingerprint,
    int maxSequenceLength,
    int maxTokensPerRequest,
    long parameterCount,
    long kvCacheBytesPerToken) {}
