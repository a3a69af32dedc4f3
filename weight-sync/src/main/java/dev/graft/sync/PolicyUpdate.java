package dev.graft.sync;

import dev.graft.model.LlamaConfig;
import dev.graft.retrofit.ModelSpec;
import java.util.Map;

/**
 * One complete, verified policy version: the model's spec (a plain Llama architecture, or a
 * student under retrofit with its αs) and its tensors.
 *
 * @param version monotonic, &gt;= 0
 * @param spec what the tensors build
 * @param tensors fp32 values by name, each of the shape {@code spec.tensorShapes()} gives
 */
public record PolicyUpdate(long version, ModelSpec spec, Map<String, float[]> tensors) {

  /** A plain Llama checkpoint of {@code config}. */
  public PolicyUpdate(long version, LlamaConfig config, Map<String, float[]> tensors) {
    this(version, config == null ? null : ModelSpec.plain(config), tensors);
  }

  /** The architecture the tensors are built on (for a retrofit, the teacher's). */
  public LlamaConfig config() {
    return spec.config();
  }
}
