package dev.graft.checkpoint;

import static dev.graft.checkpoint.SafetensorsFilesTest.bits;
import static dev.graft.checkpoint.SafetensorsFilesTest.representable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardedCheckpointTest {

  @TempDir Path dir;

  /** Tensors of 10, 6, 6, 20 and 3 bf16 elements (20, 12, 12, 40, 6 bytes), by name. */
  private static Map<String, float[]> tensors() {
    Map<String, float[]> t = new LinkedHashMap<>();
    t.put("a", representable(Dtype.BF16, 10, 1));
    t.put("b", representable(Dtype.BF16, 6, 2));
    t.put("c", representable(Dtype.BF16, 6, 3));
    t.put("d", representable(Dtype.BF16, 20, 4));
    t.put("e", representable(Dtype.BF16, 3, 5));
    return t;
  }

  private static ShardedWriter writer(long maxShardBytes, Map<String, float[]> tensors) {
    ShardedWriter w = new ShardedWriter(Dtype.BF16, maxShardBytes);
    tensors.forEach((name, v) -> w.add(name, v, v.length));
    return w;
  }

  private static List<String> fileNames(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void shardedWrite_thenRead_givesSameTensorsAndValidIndex() throws IOException {
    Map<String, float[]> tensors = tensors();
    // 32 bytes a shard: [a, b] = 32, [c] (c + d = 52), [d] (40, over the limit alone), [e].
    writer(32, tensors).write(dir);
    assertEquals(
        List.of("model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
            "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors",
            ShardIndex.FILE_NAME),
        fileNames(dir));
    ShardIndex index = ShardIndex.read(dir.resolve(ShardIndex.FILE_NAME));
    assertEquals(90, index.totalSize());
    assertEquals(
        Map.of("a", "model-00001-of-00004.safetensors", "b", "model-00001-of-00004.safetensors",
            "c", "model-00002-of-00004.safetensors", "d", "model-00003-of-00004.safetensors",
            "e", "model-00004-of-00004.safetensors"),
        index.weightMap());
    try (ShardedReader r = ShardedReader.open(dir)) {
      assertEquals(List.copyOf(tensors.keySet()), List.copyOf(r.tensors().keySet()));
      for (var e : tensors.entrySet()) {
        assertArrayEquals(bits(e.getValue()), bits(r.readFloats(e.getKey())), e.getKey());
        assertEquals(List.of((long) e.getValue().length), r.info(e.getKey()).shape());
      }
    }
  }

  @Test
  void write_everythingFits_writesSingleFileAndRemovesStaleShards() throws IOException {
    writer(32, tensors()).write(dir);
    writer(1_000, tensors()).write(dir);
    assertEquals(List.of(ShardedReader.SINGLE_FILE), fileNames(dir));
    try (ShardedReader r = ShardedReader.open(dir)) {
      assertEquals(5, r.tensors().size());
    }
    writer(64, tensors()).write(dir);
    assertFalse(fileNames(dir).contains(ShardedReader.SINGLE_FILE), "stale single file removed");
    assertEquals(3, fileNames(dir).size()); // [a b c] [d e] + index
  }

  @Test
  void open_indexNamingMissingShard_isRefused() throws IOException {
    writer(32, tensors()).write(dir);
    Files.delete(dir.resolve("model-00003-of-00004.safetensors"));
    var e = assertThrows(IllegalArgumentException.class, () -> ShardedReader.open(dir));
    assertEquals(dir.resolve(ShardIndex.FILE_NAME)
        + " names shard 'model-00003-of-00004.safetensors', which does not exist", e.getMessage());
  }

  @Test
  void open_indexDisagreeingWithShards_namesTensor() throws IOException {
    writer(32, tensors()).write(dir);
    Path indexFile = dir.resolve(ShardIndex.FILE_NAME);
    String json = Files.readString(indexFile);
    Files.writeString(indexFile, json.replace("\"e\" : \"model-00004", "\"e\" : \"model-00001"));
    var e = assertThrows(IllegalArgumentException.class, () -> ShardedReader.open(dir));
    assertEquals(indexFile + " puts tensor 'e' in 'model-00001-of-00004.safetensors', but that file"
        + " does not contain it", e.getMessage());
  }

  @Test
  void open_shardHoldingUnindexedTensor_namesTensor() throws IOException {
    writer(32, tensors()).write(dir);
    Path indexFile = dir.resolve(ShardIndex.FILE_NAME);
    Map<String, String> map = new LinkedHashMap<>(ShardIndex.read(indexFile).weightMap());
    map.remove("b");
    new ShardIndex(78, map).write(indexFile);
    var e = assertThrows(IllegalArgumentException.class, () -> ShardedReader.open(dir));
    assertEquals(dir.resolve("model-00001-of-00004.safetensors") + " holds tensor 'b', which "
        + ShardIndex.FILE_NAME + " does not list", e.getMessage());
  }

  @Test
  void index_shardOutsideDirectory_isRefused() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> ShardIndex.fromJson("{\"weight_map\":{\"w\":\"../x.safetensors\"}}"));
    assertTrue(e.getMessage().contains("tensor 'w' in '../x.safetensors', which is not a plain file"),
        e.getMessage());
  }

  @Test
  void open_emptyDirectory_saysWhatIsMissing() {
    var e = assertThrows(IllegalArgumentException.class, () -> ShardedReader.open(dir));
    assertEquals(dir + ": no model.safetensors or model.safetensors.index.json found", e.getMessage());
  }
}
