package dev.graft.checkpoint;

import ai.djl.ndarray.NDArray;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Writes tensors into a checkpoint directory the way Hugging Face does: a single {@code
 * model.safetensors} when the data fits in one shard, otherwise {@code model-00001-of-0000N.safetensors}
 * files plus {@code model.safetensors.index.json}.
 *
 * <p>Tensors are packed into shards in name order; a shard is closed when the next tensor would take
 * its data past {@code maxShardBytes} (headers not counted), and a tensor larger than that gets a
 * shard of its own. Each file is replaced atomically, then checkpoint files that the new layout does
 * not use (a stale index, single file or shard) are deleted. The directory as a whole is not
 * replaced atomically: for that, write to a fresh directory and rename it.
 */
public final class ShardedWriter {

  /** Hugging Face's default {@code max_shard_size} ("5GB"). */
  public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

  private static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");

  private final SafetensorsWriter staging;
  private final long maxShardBytes;

  /**
   * @throws IllegalArgumentException unless {@code dtype} is F32, F16 or BF16 and {@code
   *     maxShardBytes} is positive
   */
  public ShardedWriter(Dtype dtype, long maxShardBytes) {
    if (maxShardBytes <= 0) {
      throw new IllegalArgumentException("maxShardBytes (" + maxShardBytes + ") must be > 0");
    }
    this.staging = new SafetensorsWriter(dtype);
    this.maxShardBytes = maxShardBytes;
  }

  /** See {@link SafetensorsWriter#add(String, NDArray)}. */
  public ShardedWriter add(String name, NDArray array) {
    staging.add(name, array);
    return this;
  }

  /** See {@link SafetensorsWriter#add(String, float[], long...)}. */
  public ShardedWriter add(String name, float[] values, long... shape) {
    staging.add(name, values, shape);
    return this;
  }

  /** See {@link SafetensorsWriter#add(String, List, SafetensorsWriter.ValueSource)}. */
  public ShardedWriter add(String name, List<Long> shape, SafetensorsWriter.ValueSource source) {
    staging.add(name, shape, source);
    return this;
  }

  /**
   * Writes the checkpoint files into {@code dir}, creating it if needed.
   *
   * @return the files written, index last when there is one
   */
  public List<Path> write(Path dir) throws IOException {
    Files.createDirectories(dir);
    List<List<SafetensorsWriter.Pending>> shards = plan();
    List<Path> written = new ArrayList<>();
    if (shards.size() <= 1) {
      Path file = dir.resolve(ShardedReader.SINGLE_FILE);
      writeShard(shards.isEmpty() ? List.of() : shards.get(0), file);
      written.add(file);
    } else {
      Map<String, String> weightMap = new TreeMap<>();
      for (int i = 0; i < shards.size(); i++) {
        String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
        Path file = dir.resolve(name);
        writeShard(shards.get(i), file);
        shards.get(i).forEach(p -> weightMap.put(p.name(), name));
        written.add(file);
      }
      Path indexFile = dir.resolve(ShardIndex.FILE_NAME);
      new ShardIndex(staging.dataBytes(), weightMap).write(indexFile);
      written.add(indexFile);
    }
    deleteStale(dir, written);
    return List.copyOf(written);
  }

  /** Groups the tensors, in name order, into shards of at most {@code maxShardBytes} of data. */
  List<List<SafetensorsWriter.Pending>> plan() {
    List<List<SafetensorsWriter.Pending>> shards = new ArrayList<>();
    List<SafetensorsWriter.Pending> current = new ArrayList<>();
    long currentBytes = 0;
    for (SafetensorsWriter.Pending p : staging.pending()) {
      long bytes = p.bytes(staging.dtype());
      if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
        shards.add(current);
        current = new ArrayList<>();
        currentBytes = 0;
      }
      current.add(p);
      currentBytes += bytes;
    }
    if (!current.isEmpty()) {
      shards.add(current);
    }
    return shards;
  }

  private void writeShard(List<SafetensorsWriter.Pending> tensors, Path file) throws IOException {
    SafetensorsWriter shard = new SafetensorsWriter(staging.dtype());
    tensors.forEach(shard::add);
    shard.write(file);
  }

  private static void deleteStale(Path dir, List<Path> keep) throws IOException {
    Set<Path> kept = new HashSet<>(keep);
    List<Path> stale = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        String name = p.getFileName().toString();
        boolean checkpointFile = SHARD_NAME.matcher(name).matches()
            || name.equals(ShardedReader.SINGLE_FILE) || name.equals(ShardIndex.FILE_NAME);
        if (checkpointFile && !kept.contains(p)) {
          stale.add(p);
        }
      }
    }
    for (Path p : stale) {
      Files.deleteIfExists(p);
    }
  }
}
