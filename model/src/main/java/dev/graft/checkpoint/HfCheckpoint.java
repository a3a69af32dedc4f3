package dev.graft.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.LlamaConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A Llama checkpoint in Hugging Face layout: {@code config.json} plus safetensors weights (one
 * {@code model.safetensors}, or shards with an index), held as fp32 arrays by Hugging Face name.
 *
 * <p>The tensor set must match {@link LlamaConfig#tensorShapes()} exactly. Two kinds of extra
 * tensor found in real Hugging Face checkpoints are accepted and dropped: {@code lm_head.weight}
 * when {@code tie_word_embeddings} is true, and the {@code rotary_emb.inv_freq} buffers.
 *
 * @param tensors every tensor of the model, in {@code tensorShapes()} order; owned by the manager
 *     passed to {@link #load}
 */
public record HfCheckpoint(LlamaConfig config, Map<String, NDArray> tensors) {

  public static final String CONFIG_FILE = "config.json";

  private static final String LM_HEAD = "lm_head.weight";
  private static final Pattern ROTARY_BUFFER =
      Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.rotary_emb\\.inv_freq");
  private static final int MAX_LISTED_PROBLEMS = 20;

  public HfCheckpoint {
    Objects.requireNonNull(config, "config");
    tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
  }

  /**
   * Loads {@code config.json} and every weight of {@code dir} as fp32 arrays on {@code manager}.
   * F16 and BF16 weights are widened exactly.
   *
   * @throws IllegalArgumentException if the files are malformed, or a tensor is missing, has the
   *     wrong shape or is unexpected; the message names each such tensor and both shapes
   * @throws IOException if a file cannot be read
   */
  public static HfCheckpoint load(Path dir, NDManager manager) throws IOException {
    LlamaConfig config = LlamaConfig.read(dir.resolve(CONFIG_FILE));
    return new HfCheckpoint(config, loadTensors(dir, config, manager));
  }

  /**
   * Reads the weights of {@code dir} for a {@code config} already read from it (or known to
   * match): every tensor the config expects, converted to fp32, on {@code manager}. Each tensor is
   * read in bounded blocks and widened straight into its fp32 array, so loading needs little more
   * memory than the fp32 weights themselves (see {@link SafetensorsReader#readNDArray}). Tensors
   * may be stored in any mix of F32, F16 and BF16, in one file or across shards.
   *
   * @throws IllegalArgumentException listing every missing, misshapen or unexpected tensor, or every
   *     tensor stored in a type that does not convert to fp32, before any tensor is read
   */
  public static Map<String, NDArray> loadTensors(Path dir, LlamaConfig config, NDManager manager)
      throws IOException {
    try (ShardedReader reader = ShardedReader.open(dir)) {
      checkLayout(dir.toString(), config, reader.shapes());
      checkFloatTypes(dir.toString(), config, reader.tensors());
      Map<String, NDArray> loaded = new LinkedHashMap<>();
      try {
        for (String name : config.tensorShapes().keySet()) {
          loaded.put(name, reader.readNDArray(name, manager));
        }
      } catch (IOException | RuntimeException e) {
        loaded.values().forEach(NDArray::close);
        throw e;
      }
      return loaded;
    }
  }

  /** Saves this checkpoint; see {@link #save(Path, LlamaConfig, Map, Dtype, long)}. */
  public void save(Path dir, Dtype storage, long maxShardBytes) throws IOException {
    save(dir, config, tensors, storage, maxShardBytes);
  }

  /**
   * Writes {@code config.json} and the weights, stored as {@code storage} (F32, F16 or BF16), into
   * {@code dir}: one {@code model.safetensors} when the data fits in {@code maxShardBytes}, else
   * shards plus an index (see {@link ShardedWriter}).
   *
   * @param tensors fp32 arrays by Hugging Face name, matching {@code config.tensorShapes()}
   * @throws IllegalArgumentException if the tensors do not match the config, naming each tensor
   */
  public static void save(
      Path dir, LlamaConfig config, Map<String, NDArray> tensors, Dtype storage, long maxShardBytes)
      throws IOException {
    Map<String, List<Long>> shapes = new LinkedHashMap<>();
    tensors.forEach((name, array) ->
        shapes.put(name, Arrays.stream(array.getShape().getShape()).boxed().toList()));
    checkLayout("tensors to save", config, shapes);
    ShardedWriter writer = new ShardedWriter(storage, maxShardBytes);
    for (String name : config.tensorShapes().keySet()) {
      writer.add(name, tensors.get(name));
    }
    writer.write(dir);
    AtomicFiles.writeString(dir.resolve(CONFIG_FILE), config.toJson());
  }

  /**
   * Checks that {@code found} holds exactly the tensors {@code config} expects, with their shapes,
   * apart from the tolerated extras.
   *
   * @throws IllegalArgumentException listing every missing, misshapen or unexpected tensor
   */
  public static void checkLayout(String where, LlamaConfig config, Map<String, List<Long>> found) {
    Map<String, List<Long>> expected = config.tensorShapes();
    List<String> problems = new ArrayList<>();
    expected.forEach((name, shape) -> {
      List<Long> actual = found.get(name);
      if (actual == null) {
        problems.add("tensor '" + name + "' is missing (config.json expects shape " + shape + ")");
      } else if (!actual.equals(shape)) {
        problems.add(
            "tensor '" + name + "' has shape " + actual + " but config.json expects " + shape);
      }
    });
    found.forEach((name, shape) -> {
      if (!expected.containsKey(name) && !isTolerated(name, config)) {
        problems.add(
            "unexpected tensor '" + name + "' with shape " + shape
                + " (LlamaForCausalLM with this config.json has no such tensor)");
      }
    });
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(where + " does not match config.json: " + summary(problems));
    }
  }

  private static void checkFloatTypes(String where, LlamaConfig config,
      Map<String, TensorInfo> found) {
    List<String> problems = new ArrayList<>();
    config.tensorShapes().keySet().forEach(name -> {
      Dtype dtype = found.get(name).dtype();
      if (!dtype.isFloat32Convertible()) {
        problems.add("tensor '" + name + "' is stored as " + dtype
            + "; only F32, F16 and BF16 convert to fp32");
      }
    });
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(where + ": " + summary(problems));
    }
  }

  private static boolean isTolerated(String name, LlamaConfig config) {
    return ROTARY_BUFFER.matcher(name).matches()
        || (config.tieWordEmbeddings() && name.equals(LM_HEAD));
  }

  private static String summary(List<String> problems) {
    if (problems.size() == 1) {
      return problems.get(0);
    }
    StringBuilder sb = new StringBuilder(problems.size() + " problems:");
    problems.stream().limit(MAX_LISTED_PROBLEMS).forEach(p -> sb.append("\n  - ").append(p));
    if (problems.size() > MAX_LISTED_PROBLEMS) {
      sb.append("\n  ... and ").append(problems.size() - MAX_LISTED_PROBLEMS).append(" more");
    }
    return sb.toString();
  }
}
