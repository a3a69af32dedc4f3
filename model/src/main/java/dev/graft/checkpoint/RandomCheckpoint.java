package dev.graft.checkpoint;

import dev.graft.model.LlamaConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Writes a checkpoint of random weights for any {@link LlamaConfig}, in Hugging Face layout and in
 * any storage type, without holding the model in memory: each tensor is generated a chunk at a
 * time while its shard is written. For load, memory and scale measurements of shapes no one has
 * trained, such as a Llama-3-sized vocabulary.
 *
 * <p>Norm weights are 1; every other tensor is N(0, 0.02²). The values depend only on the seed,
 * the tensor's name and the element index, so the same call writes the same files.
 *
 * <p>Usage: {@code RandomCheckpoint OUT_DIR CONFIG_JSON [DTYPE [SHARD_MB [SEED]]]}, with DTYPE one of
 * F32, F16, BF16 (default BF16) and SHARD_MB the largest shard's data in 10^6 bytes (default 200).
 */
public final class RandomCheckpoint {

  private static final double STD = 0.02;

  private RandomCheckpoint() {}

  /**
   * Writes {@code config.json} and random weights for {@code config} into {@code dir}.
   *
   * @throws IllegalArgumentException unless {@code storage} is F32, F16 or BF16 and {@code
   *     maxShardBytes} is positive
   */
  public static void write(Path dir, LlamaConfig config, Dtype storage, long maxShardBytes,
      long seed) throws IOException {
    ShardedWriter writer = new ShardedWriter(storage, maxShardBytes);
    config.tensorShapes().forEach((name, shape) -> writer.add(name, shape, source(name, seed)));
    writer.write(dir);
    AtomicFiles.writeString(dir.resolve(HfCheckpoint.CONFIG_FILE), config.toJson());
  }

  /** The values of tensor {@code name}: chunks seeded by (seed, name, first index). */
  static SafetensorsWriter.ValueSource source(String name, long seed) {
    if (name.endsWith("norm.weight")) {
      return (from, dst, count) -> Arrays.fill(dst, 0, count, 1f);
    }
    long tensorSeed = seed * 0x9E3779B97F4A7C15L + name.hashCode();
    return (from, dst, count) -> {
      SplittableRandom rnd = new SplittableRandom(tensorSeed ^ (from * 0xBF58476D1CE4E5B9L));
      for (int i = 0; i < count; i++) {
        dst[i] = (float) (rnd.nextGaussian() * STD);
      }
    };
  }

  public static void main(String[] args) throws IOException {
    if (args.length < 2 || args.length > 5) {
      System.err.println("usage: RandomCheckpoint OUT_DIR CONFIG_JSON [F32|F16|BF16 [SHARD_MB [SEED]]]");
      System.exit(2);
    }
    try {
      Path out = Path.of(args[0]);
      LlamaConfig config = LlamaConfig.read(Path.of(args[1]));
      Dtype storage = args.length > 2 ? Dtype.parse(args[2]).requireFloat32Convertible() : Dtype.BF16;
      long shardBytes = args.length > 3 ? (long) (number("SHARD_MB", args[3]) * 1e6) : 200_000_000L;
      long seed = args.length > 4 ? (long) number("SEED", args[4]) : 0;
      long t0 = System.nanoTime();
      write(out, config, storage, shardBytes, seed);
      long elements = config.tensorShapes().values().stream()
          .mapToLong(TensorInfo::elementCount).sum();
      System.out.printf(Locale.ROOT, "wrote %,d parameters as %s to %s in %.1f s%n", elements,
          storage, out, (System.nanoTime() - t0) / 1e9);
    } catch (IllegalArgumentException e) {
      System.err.println("RandomCheckpoint: " + e.getMessage());
      System.exit(2);
    }
  }

  private static double number(String what, String text) {
    try {
      double v = Double.parseDouble(text);
      if (!(v >= 0) || Double.isInfinite(v)) {
        throw new NumberFormatException();
      }
      return v;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(what + " must be a non-negative number, got '" + text + "'");
    }
  }
}
