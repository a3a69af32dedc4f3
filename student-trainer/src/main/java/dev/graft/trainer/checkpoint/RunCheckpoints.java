package dev.graft.trainer.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.checkpoint.SafetensorsReader;
import dev.graft.checkpoint.SafetensorsWriter;
import dev.graft.checkpoint.ShardedReader;
import dev.graft.checkpoint.ShardedWriter;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.model.Tensors;
import dev.graft.trainer.optim.AdamW;
import dev.graft.trainer.pretrain.TrainerState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The checkpoints of one run, as {@code ROOT/step-NNNNNNN/}: the model in Hugging Face layout
 * (loadable by any Llama tool) — or, for parameters a Llama config does not lay out (a hybrid
 * retrofit's, a student with frozen parts), those parameters as they are beside the config — {@code optimizer.safetensors} (AdamW moments, fp32) and
 * {@code trainer_state.json}. A checkpoint is written under a temporary name and renamed when
 * complete, so a run killed mid-write leaves only whole checkpoints behind.
 */
public final class RunCheckpoints {

  static final String STATE = "trainer_state.json";
  static final String OPTIMIZER = "optimizer.safetensors";
  private static final String PREFIX = "step-";

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper()
          .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT);

  private final Path root;
  private final int keep;

  public RunCheckpoints(Path root, int keep) {
    this.root = root;
    this.keep = keep;
  }

  public Path root() {
    return root;
  }

  /** Writes a checkpoint for {@code state.step()} and prunes all but the newest {@code keep}. */
  public Path save(LlamaModel model, AdamW opt, TrainerState state) throws IOException {
    return save(state.step(), model.config(), model.namedParameters(), opt, state);
  }

  /**
   * Writes a checkpoint of {@code params} (laid out as {@code config}), the optimizer, and
   * {@code state} (any JSON-serialisable record), then prunes all but the newest {@code keep}.
   */
  public Path save(long step, LlamaConfig config, Map<String, NDArray> params, AdamW opt, Object state)
      throws IOException {
    Files.createDirectories(root);
    String name = String.format("%s%07d", PREFIX, step);
    Path tmp = root.resolve(name + ".tmp");
    deleteTree(tmp);
    if (shapes(params).equals(config.tensorShapes())) {
      HfCheckpoint.save(tmp, config, params, Dtype.F32, dev.graft.checkpoint.ShardedWriter.DEFAULT_MAX_SHARD_BYTES);
    } else { // parameters that a Llama config does not lay out (a hybrid, frozen parts): as they are
      ShardedWriter writer = new ShardedWriter(Dtype.F32, ShardedWriter.DEFAULT_MAX_SHARD_BYTES);
      params.forEach(writer::add);
      writer.write(tmp);
      Files.writeString(tmp.resolve(HfCheckpoint.CONFIG_FILE), config.toJson());
    }
    SafetensorsWriter w = new SafetensorsWriter(Dtype.F32);
    opt.stateTensors().forEach(w::add);
    w.putMetadata("step", Long.toString(opt.step()));
    w.write(tmp.resolve(OPTIMIZER));
    Files.writeString(tmp.resolve(STATE), JSON.writeValueAsString(state));
    Path dir = root.resolve(name);
    deleteTree(dir);
    Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    prune();
    return dir;
  }

  /** Loads the newest complete checkpoint into {@code model} and {@code opt}; empty if none. */
  public Optional<TrainerState> restoreLatest(LlamaModel model, AdamW opt) throws IOException {
    return restoreLatest(model.config(), model.namedParameters(), model.manager(), opt,
        TrainerState.class, TrainerState::step);
  }

  /**
   * Loads the newest complete checkpoint: copies its tensors into {@code params} (laid out as
   * {@code config}), restores {@code opt}, and returns the state; empty if there is none.
   */
  public <S> Optional<S> restoreLatest(LlamaConfig config, Map<String, NDArray> params,
      NDManager manager, AdamW opt, Class<S> stateType, java.util.function.ToLongFunction<S> stepOf)
      throws IOException {
    Optional<Path> latest = complete().stream().reduce((a, b) -> b);
    if (latest.isEmpty()) {
      return Optional.empty();
    }
    Path dir = latest.get();
    S state = JSON.readValue(dir.resolve(STATE).toFile(), stateType);
    long stateStep = stepOf.applyAsLong(state);
    try (NDManager scratch = manager.newSubManager()) {
      LlamaConfig saved = LlamaConfig.read(dir.resolve(HfCheckpoint.CONFIG_FILE));
      if (!saved.equals(config)) {
        throw new IllegalArgumentException(dir + " holds a model with " + saved
            + " but this run builds " + config);
      }
      readParameters(dir, config, params, scratch).forEach((n, t) -> Tensors.copyInto(t, params.get(n)));
      Map<String, NDArray> optState = new LinkedHashMap<>();
      long optStep;
      try (SafetensorsReader r = SafetensorsReader.open(dir.resolve(OPTIMIZER))) {
        for (String n : r.tensors().keySet()) {
          optState.put(n, r.readNDArray(n, scratch));
        }
        optStep = Long.parseLong(r.metadata().getOrDefault("step", "-1"));
      }
      if (optStep != stateStep) {
        throw new IllegalArgumentException(dir + ": optimizer step " + optStep
            + " does not match trainer step " + stateStep);
      }
      opt.loadState(optState, optStep);
    }
    return Optional.of(state);
  }

  private static Map<String, List<Long>> shapes(Map<String, NDArray> params) {
    Map<String, List<Long>> out = new LinkedHashMap<>();
    params.forEach((n, a) -> out.put(n, java.util.Arrays.stream(a.getShape().getShape()).boxed().toList()));
    return out;
  }

  /** The checkpoint's tensors for {@code params}: in the config's layout, or exactly the parameters' names and shapes. */
  private static Map<String, NDArray> readParameters(Path dir, LlamaConfig config, Map<String, NDArray> params,
      NDManager manager) throws IOException {
    Map<String, List<Long>> want = shapes(params);
    if (want.equals(config.tensorShapes())) {
      return HfCheckpoint.loadTensors(dir, config, manager);
    }
    try (ShardedReader reader = ShardedReader.open(dir)) {
      if (!reader.shapes().equals(want)) {
        throw new IllegalArgumentException(dir + " holds tensors " + reader.shapes() + " but this run's student"
            + " has parameters " + want);
      }
      Map<String, NDArray> loaded = new LinkedHashMap<>();
      for (String name : want.keySet()) {
        loaded.put(name, reader.readNDArray(name, manager));
      }
      return loaded;
    }
  }

  /** The state of the newest complete checkpoint, without loading its tensors; empty if none. */
  public <S> Optional<S> latestState(Class<S> stateType) throws IOException {
    Optional<Path> latest = complete().stream().reduce((a, b) -> b);
    return latest.isEmpty() ? Optional.empty()
        : Optional.of(JSON.readValue(latest.get().resolve(STATE).toFile(), stateType));
  }

  /** Complete checkpoint directories, oldest first. */
  public List<Path> complete() throws IOException {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(root)) {
      return s.filter(p -> p.getFileName().toString().matches(PREFIX + "\\d+"))
          .filter(p -> Files.isRegularFile(p.resolve(STATE)))
          .sorted(Comparator.comparing(p -> p.getFileName().toString()))
          .toList();
    }
  }

  private void prune() throws IOException {
    List<Path> all = complete();
    for (int i = 0; i < all.size() - keep; i++) {
      deleteTree(all.get(i));
    }
  }

  /** Deletes {@code dir} and everything under it; nothing if it does not exist. */
  public static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
