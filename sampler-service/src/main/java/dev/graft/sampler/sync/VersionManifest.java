package dev.graft.sampler.sync;

import dev.graft.model.LlamaConfig;
import java.time.Instant;
import java.util.List;

/**
 * What a published version holds: its config and every tensor with its checksum, in the order
 * the weights stream.
 *
 * @param version &gt;= 0
 * @param config the architecture the tensors are laid out for
 * @param tensors every tensor, in streaming order
 * @param totalBytes sum of the tensors' byte lengths
 * @param publishedAt when the trainer published it
 */
public record VersionManifest(long version, LlamaConfig config, List<TensorEntry> tensors,
    long totalBytes, Instant publishedAt) {

  public VersionManifest {
    if (version < 0) {
      throw new IllegalArgumentException("policy version (" + version + ") must be >= 0");
    }
    if (config == null) {
      throw new IllegalArgumentException("a manifest needs a config");
    }
    tensors = List.copyOf(tensors);
  }
}
