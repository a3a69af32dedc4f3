package dev.graft.sampler.sync;

import dev.graft.model.LlamaConfig;
import java.util.Map;

/**
 * One complete, verified policy version: a plain Llama checkpoint (the trainer materialises any
 * retrofit at its current α into ordinary weights before publishing).
 *
 * @param version monotonic, &gt;= 0
 * @param config the architecture the tensors are laid out for
 * @param tensors fp32 values by Hugging Face name, each of the shape {@code config} expects
 */
public record PolicyUpdate(long version, LlamaConfig config, Map<String, float[]> tensors) {}
