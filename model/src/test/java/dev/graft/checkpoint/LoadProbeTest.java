package dev.graft.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.model.LlamaConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoadProbeTest {

  private static final LlamaConfig CONFIG = LlamaConfig.tiny(300).withNumKeyValueHeads(2);

  @TempDir Path dir;

  private static long parameters(LlamaConfig config) {
    return config.tensorShapes().values().stream().mapToLong(TensorInfo::elementCount).sum();
  }

  @Test
  void randomCheckpoint_bf16Sharded_loadsWithNormsAtOneAndWeightsOfStd002() throws IOException {
    RandomCheckpoint.write(dir, CONFIG, Dtype.BF16, 20_000, 7);
    assertTrue(Files.exists(dir.resolve(ShardIndex.FILE_NAME)));
    assertTrue(ShardIndex.read(dir.resolve(ShardIndex.FILE_NAME)).shardFiles().size() >= 3);
    try (NDManager manager = NDManager.newBaseManager()) {
      HfCheckpoint loaded = HfCheckpoint.load(dir, manager);
      assertEquals(CONFIG, loaded.config());
      for (var e : loaded.tensors().entrySet()) {
        float[] v = e.getValue().toFloatArray();
        if (e.getKey().endsWith("norm.weight")) {
          for (float x : v) {
            assertEquals(1f, x, e.getKey());
          }
        } else {
          double mean = 0;
          double sq = 0;
          for (float x : v) {
            mean += x;
            sq += (double) x * x;
          }
          mean /= v.length;
          double std = Math.sqrt(sq / v.length - mean * mean);
          // At least 2,048 values a tensor: the sample std is within 5% of 0.02 (many sigmas).
          assertEquals(0.02, std, 0.001, e.getKey());
          assertEquals(0, mean, 0.002, e.getKey());
        }
      }
    }
  }

  @Test
  void randomCheckpoint_sameSeedSameFiles_otherSeedOtherValues() throws IOException {
    Path a = dir.resolve("a");
    Path b = dir.resolve("b");
    Path c = dir.resolve("c");
    RandomCheckpoint.write(a, CONFIG, Dtype.F16, 1 << 30, 1);
    RandomCheckpoint.write(b, CONFIG, Dtype.F16, 1 << 30, 1);
    RandomCheckpoint.write(c, CONFIG, Dtype.F16, 1 << 30, 2);
    Path file = Path.of(ShardedReader.SINGLE_FILE);
    assertArrayEquals(Files.readAllBytes(a.resolve(file)), Files.readAllBytes(b.resolve(file)));
    assertFalse(Arrays.equals(
        Files.readAllBytes(a.resolve(file)), Files.readAllBytes(c.resolve(file))));
  }

  @Test
  void measure_randomCheckpoint_countsEveryParameter() throws IOException {
    RandomCheckpoint.write(dir, CONFIG, Dtype.BF16, 20_000, 3);
    LoadProbe.Result r = LoadProbe.measure(dir);
    assertEquals(parameters(CONFIG), r.parameters());
    assertEquals(4 * parameters(CONFIG), r.fp32Bytes());
    // The kernel's resident counts are approximate by a few pages a thread, more than this tiny
    // model's weights: only their plausibility is checked here; the probe is for real sizes.
    assertTrue(r.rssBefore() > 1 << 20 && r.peakRss() > 1 << 20, r.toString());
    assertTrue(r.loadSeconds() > 0, r.toString());
  }

  @Test
  void result_json_isOneLineWithTheContractFieldsInOrder() {
    LoadProbe.Result r = new LoadProbe.Result(1000, 0.5, 100_000, 106_000);
    assertEquals("{\"parameters\":1000,\"fp32_bytes\":4000,\"load_seconds\":0.5,"
        + "\"rss_before_bytes\":100000,\"peak_rss_bytes\":106000,\"peak_over_fp32\":1.5}",
        r.toJson());
  }

  @Test
  void statusBytes_readsKilobyteFieldsAsBytes() throws IOException {
    long rss = LoadProbe.statusBytes("VmRSS");
    assertTrue(rss > 1 << 20 && rss % 1024 == 0, String.valueOf(rss));
    assertTrue(LoadProbe.statusBytes("VmHWM") >= rss);
  }

  @Test
  void randomCheckpoint_tensorsFollowTheConfig() throws IOException {
    LlamaConfig tied = CONFIG.withTiedEmbeddings(true);
    RandomCheckpoint.write(dir, tied, Dtype.F32, 1 << 30, 0);
    try (ShardedReader r = ShardedReader.open(dir)) {
      assertEquals(tied.tensorShapes().keySet(), r.tensors().keySet());
      tied.tensorShapes().forEach((name, shape) -> assertEquals(shape, r.info(name).shape(), name));
      assertEquals(List.of(Dtype.F32), r.tensors().values().stream().map(TensorInfo::dtype).distinct().toList());
    }
    try (NDManager manager = NDManager.newBaseManager()) {
      assertEquals(tied, HfCheckpoint.load(dir, manager).config());
    }
  }
}
