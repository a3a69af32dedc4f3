package dev.graft.sync;

import dev.graft.model.LlamaConfig;
import dev.graft.retrofit.ModelSpec;
import java.util.Map;

/**
 * One complete, verified policy version: the model's spec (a plain Llama architecture, or a
 * student under retrofit with its αs) and its tensors.
 *
 * @param epoch the run that published it (see {@code graft.v1.PolicyService}); 0 when the
 *     publisher stamps its own, as a trainer's updates do
 * @param version monotonic within an epoch, &gt;= 0
 * @param spec what the tensors build
 * @param tensors fp32 values by name, each of the shape {@code spec.tensorShapes()} gives
 */
public record PolicyUpdate(long epoch, long version, ModelSpec spec, Map<String, float[]> tensors) {

  /** An update the publisher stamps with its own epoch. */
  public PolicyUpdate(long version, ModelSpec spec, Map<String, float[]> tensors) {
    this(0, version, spec, tensors);
  }

  /** A plain Llama checkpoint of {@code config}, stamped by the publisher. */
  public PolicyUpdate(long version, LlamaConfig config, Map<String, float[]> tensors) {
    this(0, version, config == null ? null : ModelSpec.plain(config), tensors);
  }

  /** The architecture the tensors are built on (for a retrofit, the teacher's). */
  public LlamaConfig config() {
    return spec.config();
  }
}
