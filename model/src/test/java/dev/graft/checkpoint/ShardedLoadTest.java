package dev.graft.checkpoint;

import static dev.graft.checkpoint.SafetensorsFilesTest.bits;
import static dev.graft.checkpoint.SafetensorsFilesTest.representable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.graft.model.LlamaConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading sharded checkpoints whose tensors are stored in a mix of types, and refusing bad ones. */
class ShardedLoadTest {

  private static final LlamaConfig CONFIG = LlamaConfig.tiny(32).withNumKeyValueHeads(2);
  private static final Dtype[] CYCLE = {Dtype.BF16, Dtype.F16, Dtype.F32};
  private static final String SHARD_1 = "model-00001-of-00003.safetensors";
  private static final String SHARD_3 = "model-00003-of-00003.safetensors";

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

  /** One tensor as stored: its type, values exactly representable in that type, and shape. */
  record Stored(Dtype dtype, float[] values, List<Long> shape) {}

  /** Every tensor of {@code CONFIG}, types cycling BF16, F16, F32 so that each shard mixes them. */
  private static Map<String, Stored> mixedTensors() {
    Map<String, Stored> out = new LinkedHashMap<>();
    int i = 0;
    for (var e : CONFIG.tensorShapes().entrySet()) {
      Dtype dtype = CYCLE[i % CYCLE.length];
      int n = (int) TensorInfo.elementCount(e.getValue());
      out.put(e.getKey(), new Stored(dtype, representable(dtype, n, i), e.getValue()));
      i++;
    }
    return out;
  }

  /** Writes a safetensors file whose tensors each keep their own type, as PyTorch exports do. */
  static void writeMixed(Path file, Map<String, Stored> tensors) throws IOException {
    writeMixedRaw(file, new TreeMap<>(tensors));
  }

  /** Writes config.json, three mixed-type shards (tensors dealt round-robin) and their index. */
  private Map<String, Stored> writeShardedMixed() throws IOException {
    Map<String, Stored> all = mixedTensors();
    List<Map<String, Stored>> shards = List.of(new TreeMap<>(), new TreeMap<>(), new TreeMap<>());
    Map<String, String> weightMap = new TreeMap<>();
    int i = 0;
    for (var e : all.entrySet()) {
      int s = (i++ / 2) % 3;
      shards.get(s).put(e.getKey(), e.getValue());
      weightMap.put(e.getKey(), String.format("model-%05d-of-00003.safetensors", s + 1));
    }
    for (int s = 0; s < 3; s++) {
      writeMixed(dir.resolve(String.format("model-%05d-of-00003.safetensors", s + 1)), shards.get(s));
    }
    new ShardIndex(-1, weightMap).write(dir.resolve(ShardIndex.FILE_NAME));
    CONFIG.write(dir.resolve(HfCheckpoint.CONFIG_FILE));
    return all;
  }

  @Test
  void load_shardedMixedTypes_widensEveryTensorExactly() throws IOException {
    Map<String, Stored> stored = writeShardedMixed();
    try (ShardedReader r = ShardedReader.open(dir)) {
      assertEquals(Dtype.BF16, r.info("model.embed_tokens.weight").dtype());
      for (String shard : List.of(SHARD_1, SHARD_3)) {
        long types = r.tensors().values().stream()
            .filter(t -> r.fileOf(t.name()).file().getFileName().toString().equals(shard))
            .map(TensorInfo::dtype).distinct().count();
        assertTrue(types >= 2, shard + " holds " + types + " types");
      }
    }
    HfCheckpoint loaded = HfCheckpoint.load(dir, manager);
    assertEquals(List.copyOf(CONFIG.tensorShapes().keySet()), List.copyOf(loaded.tensors().keySet()));
    for (var e : loaded.tensors().entrySet()) {
      NDArray a = e.getValue();
      Stored s = stored.get(e.getKey());
      assertEquals(DataType.FLOAT32, a.getDataType());
      assertEquals(s.shape(), Arrays.stream(a.getShape().getShape()).boxed().toList());
      assertArrayEquals(bits(s.values()), bits(a.toFloatArray()), e.getKey() + " (" + s.dtype() + ")");
    }
  }

  @Test
  void readNDArray_tensorSpanningSeveralBlocks_isExactInEveryType() throws IOException {
    // Not a multiple of the block in any type, so the last block is partial.
    int n = 3 * ((SafetensorsReader.BLOCK_BYTES + 12_345) / 3);
    Map<String, Stored> tensors = new TreeMap<>();
    for (Dtype dtype : CYCLE) {
      tensors.put("t_" + dtype, new Stored(dtype, representable(dtype, n, dtype.ordinal()),
          List.of(3L, (long) n / 3)));
    }
    Path file = dir.resolve("big.safetensors");
    writeMixed(file, tensors);
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      for (var e : tensors.entrySet()) {
        try (NDArray a = r.readNDArray(e.getKey(), manager)) {
          assertArrayEquals(bits(e.getValue().values()), bits(a.toFloatArray()), e.getKey());
        }
      }
    }
  }

  @Test
  void load_shardMissing_namesIndexAndShard() throws IOException {
    writeShardedMixed();
    Files.delete(dir.resolve(SHARD_3));
    var e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.load(dir, manager));
    assertEquals(dir.resolve(ShardIndex.FILE_NAME) + " names shard '" + SHARD_3
        + "', which does not exist", e.getMessage());
  }

  @Test
  void load_indexNamingWrongShard_namesTensorAndBothFiles() throws IOException {
    writeShardedMixed();
    Path indexFile = dir.resolve(ShardIndex.FILE_NAME);
    Map<String, String> map = new TreeMap<>(ShardIndex.read(indexFile).weightMap());
    String tensor = "model.norm.weight";
    String actual = map.put(tensor, actualOther(map.get(tensor)));
    new ShardIndex(-1, map).write(indexFile);
    var e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.load(dir, manager));
    assertEquals(indexFile + " puts tensor '" + tensor + "' in '" + actualOther(actual)
        + "', but that file does not contain it", e.getMessage());
  }

  private static String actualOther(String shard) {
    return shard.equals(SHARD_1) ? SHARD_3 : SHARD_1;
  }

  @Test
  void load_truncatedShard_namesFileAndTensor() throws IOException {
    writeShardedMixed();
    Path shard = dir.resolve(SHARD_3);
    long size = Files.size(shard);
    try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
      ch.truncate(size - 2);
    }
    var e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.load(dir, manager));
    assertTrue(e.getMessage().startsWith(shard + ": tensor '"), e.getMessage());
    assertTrue(e.getMessage().contains("run past the end of the data section")
        && e.getMessage().endsWith("the file is truncated or the offsets are wrong"), e.getMessage());
  }

  @Test
  void load_tensorStoredAsInteger_isRefusedBeforeReading() throws IOException {
    Map<String, Stored> stored = writeShardedMixed();
    // Rewrite shard 1 with one tensor stored as I32 of the same shape.
    Map<String, Stored> shard1 = new TreeMap<>();
    ShardIndex.read(dir.resolve(ShardIndex.FILE_NAME)).weightMap().forEach((name, shard) -> {
      if (shard.equals(SHARD_1)) {
        shard1.put(name, stored.get(name));
      }
    });
    String victim = shard1.keySet().iterator().next();
    Stored s = shard1.get(victim);
    shard1.put(victim, new Stored(Dtype.I32, new float[s.values().length], s.shape()));
    writeMixedRaw(dir.resolve(SHARD_1), shard1);
    var e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.load(dir, manager));
    assertEquals(dir + ": tensor '" + victim + "' is stored as I32; only F32, F16 and BF16 convert"
        + " to fp32", e.getMessage());
  }

  @Test
  void load_dtypeTheFormatDoesNotDefine_namesShardAndTensor() throws IOException {
    writeShardedMixed();
    Path shard = dir.resolve(SHARD_1);
    byte[] bytes = Files.readAllBytes(shard);
    String text = new String(bytes, StandardCharsets.ISO_8859_1);
    int at = text.indexOf("\"dtype\":\"BF16\"");
    assertTrue(at > 0);
    // Same length, so every offset stays valid: only the type name changes.
    byte[] patched = text.replaceFirst("\"dtype\":\"BF16\"", "\"dtype\":\"F8E4\"")
        .getBytes(StandardCharsets.ISO_8859_1);
    Files.write(shard, patched);
    var e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.load(dir, manager));
    assertTrue(e.getMessage().startsWith(shard + ": tensor '"), e.getMessage());
    assertTrue(e.getMessage().contains("unsupported dtype 'F8E4' (supported: F32, F16, BF16"),
        e.getMessage());
  }

  /** Writes the tensors in map order; a tensor of a non-float type is written as zero bytes. */
  private static void writeMixedRaw(Path file, Map<String, Stored> tensors) throws IOException {
    List<TensorInfo> infos = new ArrayList<>();
    long offset = 0;
    for (var e : tensors.entrySet()) {
      long size = (long) e.getValue().values().length * e.getValue().dtype().byteSize();
      infos.add(new TensorInfo(e.getKey(), e.getValue().dtype(), e.getValue().shape(), offset,
          offset + size));
      offset += size;
    }
    byte[] header = new SafetensorsHeader(Map.of("format", "pt"), infos).encode();
    ByteBuffer out = ByteBuffer.allocate((int) (8 + header.length + offset))
        .order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(header.length).put(header);
    for (var e : tensors.entrySet()) {
      Stored t = e.getValue();
      if (t.dtype().isFloat32Convertible()) {
        TensorCodec.encode(FloatBuffer.wrap(t.values()), t.dtype(), out);
      } else {
        out.position(out.position() + t.values().length * t.dtype().byteSize());
      }
    }
    Files.write(file, out.array());
  }
}
