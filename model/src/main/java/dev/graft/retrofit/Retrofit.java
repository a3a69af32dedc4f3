package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.LlamaConfig;
import java.util.Map;

/**
 * Maps a teacher's architecture and weights to a student on a path α ∈ [0, 1] per unit (a layer,
 * a head, ...): at α = 0 everywhere the student computes exactly the teacher's logits; at α = 1
 * everywhere it is the target architecture, exportable as a checkpoint of {@link #targetConfig}.
 */
public interface Retrofit {

  /** A one-line description for logs and reports, e.g. "MHA(8) -> GQA(2), init mean_pool". */
  String describe(LlamaConfig teacher);

  /** The architecture of the finished student; throws if the teacher cannot be retrofitted. */
  LlamaConfig targetConfig(LlamaConfig teacher);

  /** Builds the student from copies of the teacher's tensors, with α = 0 everywhere. */
  RetrofitStudent build(LlamaConfig teacher, Map<String, NDArray> teacherTensors, NDManager manager);
}
