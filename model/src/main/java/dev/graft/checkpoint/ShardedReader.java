package dev.graft.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The tensors of a Hugging Face checkpoint directory, whichever way they are stored: a single
 * {@code model.safetensors} (preferred when present, as {@code transformers} does), or {@code
 * model.safetensors.index.json} plus the shard files it names.
 *
 * <p>Opening checks that the index and the shards agree: every indexed tensor is in the shard the
 * index names, and every tensor of a shard is indexed to that shard. Not thread-safe.
 */
public final class ShardedReader implements Closeable {

  public static final String SINGLE_FILE = "model.safetensors";

  private final Path dir;
  private final List<SafetensorsReader> files;
  private final Map<String, SafetensorsReader> byTensor;
  private final Map<String, TensorInfo> tensors;

  private ShardedReader(Path dir, List<SafetensorsReader> files) {
    this.dir = dir;
    this.files = List.copyOf(files);
    Map<String, SafetensorsReader> owners = new TreeMap<>();
    Map<String, TensorInfo> infos = new TreeMap<>();
    for (SafetensorsReader f : files) {
      f.tensors().forEach((name, info) -> {
        owners.put(name, f);
        infos.put(name, info);
      });
    }
    this.byTensor = owners;
    this.tensors = Collections.unmodifiableMap(infos);
  }

  /**
   * Opens the checkpoint in {@code dir}.
   *
   * @throws IllegalArgumentException if the directory holds no safetensors checkpoint, or its files
   *     are malformed or disagree; the message names the file and tensor
   * @throws IOException if a file cannot be read
   */
  public static ShardedReader open(Path dir) throws IOException {
    Path single = dir.resolve(SINGLE_FILE);
    if (Files.isRegularFile(single)) {
      return new ShardedReader(dir, List.of(SafetensorsReader.open(single)));
    }
    Path indexFile = dir.resolve(ShardIndex.FILE_NAME);
    if (!Files.isRegularFile(indexFile)) {
      throw new IllegalArgumentException(
          dir + ": no " + SINGLE_FILE + " or " + ShardIndex.FILE_NAME + " found");
    }
    ShardIndex index = ShardIndex.read(indexFile);
    List<SafetensorsReader> opened = new ArrayList<>();
    try {
      for (String shard : index.shardFiles()) {
        Path file = dir.resolve(shard);
        if (!Files.isRegularFile(file)) {
          throw new IllegalArgumentException(
              indexFile + " names shard '" + shard + "', which does not exist");
        }
        opened.add(SafetensorsReader.open(file));
      }
      checkAgreement(indexFile, index, opened);
      return new ShardedReader(dir, opened);
    } catch (IOException | RuntimeException e) {
      for (SafetensorsReader r : opened) {
        r.close();
      }
      throw e;
    }
  }

  public Path directory() {
    return dir;
  }

  /** Every tensor across all files, by name, in name order. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /** Shapes of every tensor, by name, in name order. */
  public Map<String, List<Long>> shapes() {
    Map<String, List<Long>> out = new LinkedHashMap<>();
    tensors.forEach((name, t) -> out.put(name, t.shape()));
    return out;
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /** The reader of the file that holds {@code name}. */
  public SafetensorsReader fileOf(String name) {
    SafetensorsReader f = byTensor.get(name);
    if (f == null) {
      throw new IllegalArgumentException(dir + ": checkpoint has no tensor '" + name + "'");
    }
    return f;
  }

  /** The tensor's entry; see {@link SafetensorsReader#info}. */
  public TensorInfo info(String name) {
    return fileOf(name).info(name);
  }

  /** See {@link SafetensorsReader#bytes}. */
  public ByteBuffer bytes(String name) throws IOException {
    return fileOf(name).bytes(name);
  }

  /** See {@link SafetensorsReader#readFloats}. */
  public float[] readFloats(String name) throws IOException {
    return fileOf(name).readFloats(name);
  }

  /** See {@link SafetensorsReader#readNDArray}. */
  public NDArray readNDArray(String name, NDManager manager) throws IOException {
    return fileOf(name).readNDArray(name, manager);
  }

  @Override
  public void close() throws IOException {
    IOException first = null;
    for (SafetensorsReader f : files) {
      try {
        f.close();
      } catch (IOException e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  private static void checkAgreement(Path indexFile, ShardIndex index, List<SafetensorsReader> shards) {
    Map<String, SafetensorsReader> byName = new TreeMap<>();
    shards.forEach(s -> byName.put(s.file().getFileName().toString(), s));
    index.weightMap().forEach((tensor, shard) -> {
      if (!byName.get(shard).contains(tensor)) {
        throw new IllegalArgumentException(
            indexFile + " puts tensor '" + tensor + "' in '" + shard
                + "', but that file does not contain it");
      }
    });
    for (SafetensorsReader s : shards) {
      String shard = s.file().getFileName().toString();
      for (String tensor : s.tensors().keySet()) {
        String indexed = index.weightMap().get(tensor);
        if (!shard.equals(indexed)) {
          throw new IllegalArgumentException(
              s.file() + " holds tensor '" + tensor + "', which " + indexFile.getFileName()
                  + (indexed == null ? " does not list" : " puts in '" + indexed + "'"));
        }
      }
    }
  }
}
