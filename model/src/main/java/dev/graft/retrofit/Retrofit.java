package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.LlamaConfig;
import java.util.List;
import java.util.Map;

/**
 * Maps a teacher's architecture and weights to a student on a path α ∈ [0, 1] per unit (a layer,
 * a head, ...): at α = 0 everywhere the student computes exactly the teacher's logits; at α = 1
 * everywhere it is the target architecture, exportable as a checkpoint of {@link #targetConfig}.
 *
 * <p>A student is rebuilt from its state ({@link RetrofitStudent#state()}: parameters plus frozen
 * teacher buffers) by {@link #assemble}, which is how a sampler serves a student at any α.
 */
public interface Retrofit {

  /** A short tag for names of runs and files, e.g. {@code gqa2}. */
  String tag();

  /** A one-line description for logs and reports, e.g. "MHA(8) -> GQA(2), init mean_pool". */
  String describe(LlamaConfig teacher);

  /** How many interpolation units (each with its own α) a student of {@code teacher} has. */
  int units(LlamaConfig teacher);

  /** The architecture of the finished student; throws if the teacher cannot be retrofitted. */
  LlamaConfig targetConfig(LlamaConfig teacher);

  /**
   * Bytes the finished student's weights occupy as exported (fp32 unless the retrofit stores them
   * narrower).
   */
  default long weightBytes(LlamaConfig teacher) {
    return targetConfig(teacher).parameterCount() * Float.BYTES;
  }

  /** Parameters of the finished student: by default those of {@link #targetConfig}. */
  default long parameterCount(LlamaConfig teacher) {
    return targetConfig(teacher).parameterCount();
  }

  /** Builds the student from copies of the teacher's tensors, with α = 0 everywhere. */
  RetrofitStudent build(LlamaConfig teacher, Map<String, NDArray> teacherTensors, NDManager manager);

  /** Name and shape of every tensor of a student's state, as {@link #assemble} takes it. */
  Map<String, List<Long>> stateShapes(LlamaConfig teacher);

  /**
   * Rebuilds a student from its state, taking ownership of the arrays, with α = 0 everywhere.
   *
   * @throws IllegalArgumentException when a tensor is missing, unexpected or mis-shaped
   */
  RetrofitStudent assemble(LlamaConfig teacher, Map<String, NDArray> state, NDManager manager);

  /**
   * Key/value cache bytes of one sequence of {@code tokens} tokens of the finished student, with
   * {@code bytesPerElement} per cached number: by default every layer caches every position of
   * {@link #targetConfig}; a retrofit that bounds its cache says so.
   */
  default long kvCacheBytesPerSequence(LlamaConfig teacher, long tokens, int bytesPerElement) {
    return targetConfig(teacher).kvCacheBytesPerToken(bytesPerElement) * tokens;
  }

  /**
   * What the finished student's cache grows by per token, with {@code bytesPerElement} per cached
   * number: by default that of {@link #targetConfig}; a retrofit with layers of constant state says so.
   */
  default long kvCacheBytesPerToken(LlamaConfig teacher, int bytesPerElement) {
    return targetConfig(teacher).kvCacheBytesPerToken(bytesPerElement);
  }

  /**
   * This retrofit as plain values — {@code type} plus its settings — that {@link Retrofits#fromSpec}
   * reads back to an equal retrofit.
   */
  Map<String, Object> spec();
}
