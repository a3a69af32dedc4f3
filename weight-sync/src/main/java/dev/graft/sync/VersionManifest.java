package dev.graft.sync;

import dev.graft.model.LlamaConfig;
import dev.graft.retrofit.ModelSpec;
import java.time.Instant;
import java.util.List;

/**
 * What a published version holds: the model's spec and every tensor with its checksum, in the
 * order the weights stream.
 *
 * @param epoch the publishing run, non-zero
 * @param version &gt;= 0
 * @param spec what the tensors build
 * @param tensors every tensor, in streaming order
 * @param totalBytes sum of the tensors' byte lengths
 * @param publishedAt when the trainer published it
 */
public record VersionManifest(long epoch, long version, ModelSpec spec, List<TensorEntry> tensors,
    long totalBytes, Instant publishedAt) {

  public VersionManifest {
    if (epoch == 0) {
      throw new IllegalArgumentException("a manifest needs a non-zero epoch");
    }
    if (version < 0) {
      throw new IllegalArgumentException("policy version (" + version + ") must be >= 0");
    }
    if (spec == null) {
      throw new IllegalArgumentException("a manifest needs a model spec");
    }
    tensors = List.copyOf(tensors);
  }

  /** A manifest of a plain Llama checkpoint of {@code config}. */
  public VersionManifest(long epoch, long version, LlamaConfig config, List<TensorEntry> tensors,
      long totalBytes, Instant publishedAt) {
    this(epoch, version, config == null ? null : ModelSpec.plain(config), tensors, totalBytes, publishedAt);
  }

  /** The architecture the tensors are built on (for a retrofit, the teacher's). */
  public LlamaConfig config() {
    return spec.config();
  }
}
