package dev.graft.checkpoint;

import static dev.graft.checkpoint.SafetensorsFilesTest.bits;
import static dev.graft.checkpoint.SafetensorsFilesTest.representable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.LlamaConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfCheckpointTest {

  private static final LlamaConfig CONFIG = LlamaConfig.tiny(32).withNumKeyValueHeads(2);

  @TempDir Path dir;
  private NDManager manager;

  @BeforeEach
  void openManager() {
    manager = NDManager.newBaseManager();
  }

  @AfterEach
  void closeManager() {
    manager.close();
  }

  /** Values for every tensor of {@code config}, exactly representable in {@code dtype}. */
  private static Map<String, float[]> weights(LlamaConfig config, Dtype dtype) {
    Map<String, float[]> out = new LinkedHashMap<>();
    long seed = 0;
    for (var e : config.tensorShapes().entrySet()) {
      int n = (int) TensorInfo.elementCount(e.getValue());
      out.put(e.getKey(), representable(dtype, n, seed++));
    }
    return out;
  }

  private static long[] dims(List<Long> shape) {
    return shape.stream().mapToLong(Long::longValue).toArray();
  }

  /** Writes config.json and a single model.safetensors the way a Python export would. */
  private void writeCheckpoint(LlamaConfig config, Map<String, float[]> tensors,
      Map<String, long[]> shapes) throws IOException {
    config.write(dir.resolve(HfCheckpoint.CONFIG_FILE));
    SafetensorsWriter w = new SafetensorsWriter(Dtype.BF16);
    tensors.forEach((name, v) -> w.add(name, v, shapes.get(name)));
    w.write(dir.resolve(ShardedReader.SINGLE_FILE));
  }

  private Map<String, long[]> shapesOf(LlamaConfig config) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    config.tensorShapes().forEach((name, shape) -> shapes.put(name, dims(shape)));
    return shapes;
  }

  private void assertSaveThenLoadBitExact(Dtype dtype, long maxShardBytes) throws IOException {
    Map<String, float[]> values = weights(CONFIG, dtype);
    Map<String, NDArray> arrays = new LinkedHashMap<>();
    CONFIG.tensorShapes().forEach((name, shape) ->
        arrays.put(name, manager.create(values.get(name), new Shape(dims(shape)))));
    HfCheckpoint.save(dir, CONFIG, arrays, dtype, maxShardBytes);
    HfCheckpoint loaded = HfCheckpoint.load(dir, manager);
    assertEquals(CONFIG, loaded.config());
    assertEquals(List.copyOf(CONFIG.tensorShapes().keySet()), List.copyOf(loaded.tensors().keySet()));
    for (var e : loaded.tensors().entrySet()) {
      NDArray a = e.getValue();
      assertEquals(DataType.FLOAT32, a.getDataType());
      assertEquals(arrays.get(e.getKey()).getShape(), a.getShape());
      assertArrayEquals(bits(values.get(e.getKey())), bits(a.toFloatArray()), e.getKey());
    }
  }

  @Test
  void saveThenLoad_bf16SingleFile_isBitExact() throws IOException {
    assertSaveThenLoadBitExact(Dtype.BF16, ShardedWriter.DEFAULT_MAX_SHARD_BYTES);
    assertTrue(Files.exists(dir.resolve(ShardedReader.SINGLE_FILE)));
    assertFalse(Files.exists(dir.resolve(ShardIndex.FILE_NAME)));
  }

  @Test
  void saveThenLoad_f16Sharded_isBitExact() throws IOException {
    assertSaveThenLoadBitExact(Dtype.F16, 40_000);
    assertTrue(Files.exists(dir.resolve(ShardIndex.FILE_NAME)));
    assertTrue(ShardIndex.read(dir.resolve(ShardIndex.FILE_NAME)).shardFiles().size() > 2);
  }

  @Test
  void saveThenLoad_f32_isBitExact() throws IOException {
    assertSaveThenLoadBitExact(Dtype.F32, ShardedWriter.DEFAULT_MAX_SHARD_BYTES);
  }

  @Test
  void load_missingTensor_namesItAndItsShape() throws IOException {
    Map<String, float[]> w = weights(CONFIG, Dtype.BF16);
    w.remove("model.norm.weight");
    writeCheckpoint(CONFIG, w, shapesOf(CONFIG));
    var e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.load(dir, manager));
    assertEquals(dir + " does not match config.json: tensor 'model.norm.weight' is missing"
        + " (config.json expects shape [64])", e.getMessage());
  }

  @Test
  void load_wrongShape_namesTensorAndBothShapes() throws IOException {
    Map<String, long[]> shapes = shapesOf(CONFIG);
    shapes.put("model.layers.1.self_attn.k_proj.weight", new long[] {64, 32});
    writeCheckpoint(CONFIG, weights(CONFIG, Dtype.BF16), shapes);
    var e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.load(dir, manager));
    assertEquals(dir + " does not match config.json: tensor 'model.layers.1.self_attn.k_proj.weight'"
        + " has shape [64, 32] but config.json expects [32, 64]", e.getMessage());
  }

  @Test
  void load_unexpectedTensor_namesIt() throws IOException {
    Map<String, float[]> w = weights(CONFIG, Dtype.BF16);
    Map<String, long[]> shapes = shapesOf(CONFIG);
    w.put("model.layers.0.self_attn.q_proj.bias", new float[64]);
    shapes.put("model.layers.0.self_attn.q_proj.bias", new long[] {64});
    w.remove("lm_head.weight");
    writeCheckpoint(CONFIG, w, shapes);
    var e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.load(dir, manager));
    assertEquals(dir + " does not match config.json: 2 problems:"
        + "\n  - tensor 'lm_head.weight' is missing (config.json expects shape [32, 64])"
        + "\n  - unexpected tensor 'model.layers.0.self_attn.q_proj.bias' with shape [64]"
        + " (LlamaForCausalLM with this config.json has no such tensor)", e.getMessage());
  }

  @Test
  void load_tiedEmbeddingWithLmHeadAndRotaryBuffers_dropsThem() throws IOException {
    LlamaConfig tied = CONFIG.withTiedEmbeddings(true);
    Map<String, float[]> w = weights(tied, Dtype.BF16);
    Map<String, long[]> shapes = shapesOf(tied);
    w.put("lm_head.weight", w.get("model.embed_tokens.weight"));
    shapes.put("lm_head.weight", new long[] {32, 64});
    w.put("model.layers.1.self_attn.rotary_emb.inv_freq", new float[8]);
    shapes.put("model.layers.1.self_attn.rotary_emb.inv_freq", new long[] {8});
    writeCheckpoint(tied, w, shapes);
    HfCheckpoint loaded = HfCheckpoint.load(dir, manager);
    assertEquals(tied.tensorShapes().keySet(), loaded.tensors().keySet());
    assertFalse(loaded.tensors().containsKey("lm_head.weight"));
  }

  @Test
  void save_tensorsNotMatchingConfig_isRefusedBeforeWriting() {
    Map<String, NDArray> arrays = new LinkedHashMap<>();
    CONFIG.tensorShapes().forEach((name, shape) ->
        arrays.put(name, manager.zeros(new Shape(dims(shape)))));
    arrays.put("model.norm.weight", manager.zeros(new Shape(65)));
    var e = assertThrows(IllegalArgumentException.class,
        () -> HfCheckpoint.save(dir, CONFIG, arrays, Dtype.BF16, 1 << 20));
    assertEquals("tensors to save does not match config.json: tensor 'model.norm.weight' has shape"
        + " [65] but config.json expects [64]", e.getMessage());
    assertFalse(Files.exists(dir.resolve(ShardedReader.SINGLE_FILE)));
  }

  @Test
  void readNDArray_bf16_widensToIndependentFp32Array() throws IOException {
    Path file = dir.resolve("x.safetensors");
    new SafetensorsWriter(Dtype.BF16).add("x", new float[] {1f, -3f, 0.5f, 2f}, 2, 2).write(file);
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      NDArray a = r.readNDArray("x", manager);
      assertEquals(new Shape(2, 2), a.getShape());
      assertEquals("x", a.getName());
      a.addi(1f); // the array owns writable memory, not the read-only map
      assertArrayEquals(new float[] {2f, -2f, 1.5f, 3f}, a.toFloatArray());
      assertArrayEquals(new float[] {1f, -3f, 0.5f, 2f}, r.readFloats("x"));
    }
  }

  @Test
  void write_failingMidway_leavesNoFileBehind() throws IOException {
    NDArray early = manager.create(new float[] {1f, 2f});
    NDArray closed = manager.create(new float[] {3f});
    SafetensorsWriter w = new SafetensorsWriter(Dtype.BF16).add("a", early).add("b", closed);
    closed.close();
    assertThrows(RuntimeException.class, () -> w.write(dir.resolve("m.safetensors")));
    try (var files = Files.list(dir)) {
      assertEquals(List.of(), files.toList());
    }
  }
}
