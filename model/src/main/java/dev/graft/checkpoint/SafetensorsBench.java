package dev.graft.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Throughput of safetensors writing and reading, in MB (10^6 bytes) of fp32 data per second.
 *
 * <p>Writes {@code tensors} fp32 tensors of {@code elements} values each (default 50 x 1M, 200 MiB)
 * as F32 and as BF16, then reads them back into float arrays and into NDArrays. Writes include the
 * fsync of each file; reads follow the writes, so they are served from the page cache. Each figure
 * is the median (and best) of {@code reps} runs after one warm-up.
 *
 * <p>Usage: {@code SafetensorsBench [dir] [tensors] [elements] [reps]}.
 */
public final class SafetensorsBench {

  private SafetensorsBench() {}

  /** One timed operation over the files in a directory. */
  @FunctionalInterface
  private interface Op {
    void run() throws IOException;
  }

  public static void main(String[] args) throws IOException {
    Path root = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("st-bench");
    int tensors = args.length > 1 ? Integer.parseInt(args[1]) : 50;
    int elements = args.length > 2 ? Integer.parseInt(args[2]) : 1 << 20;
    int reps = args.length > 3 ? Integer.parseInt(args[3]) : 5;
    float[][] data = randomTensors(tensors, elements);
    double fp32Mb = 4.0 * tensors * elements / 1e6;
    System.out.printf(Locale.ROOT, "%d tensors x %d fp32 values = %.1f MB of fp32 data in %s%n",
        tensors, elements, fp32Mb, root);
    try (NDManager manager = NDManager.newBaseManager()) {
      List<NDArray> arrays = new ArrayList<>();
      for (float[] t : data) {
        arrays.add(manager.create(t, new Shape(t.length)));
      }
      for (Dtype dtype : new Dtype[] {Dtype.F32, Dtype.BF16}) {
        Path file = root.resolve("bench-" + dtype + ".safetensors");
        report(dtype + " write (float[])", fp32Mb, reps, () -> write(data, dtype, file));
        report(dtype + " write (NDArray)", fp32Mb, reps, () -> writeArrays(arrays, dtype, file));
        System.out.printf(Locale.ROOT, "  file size %.1f MB%n", Files.size(file) / 1e6);
        report(dtype + " read -> float[]", fp32Mb, reps, () -> readFloats(file, data));
        report(dtype + " read -> NDArray", fp32Mb, reps, () -> readArrays(manager, file, data));
        Files.delete(file);
      }
    } finally {
      if (args.length == 0) {
        try (Stream<Path> left = Files.list(root)) {
          for (Path p : left.toList()) {
            Files.delete(p);
          }
        }
        Files.delete(root);
      }
    }
  }

  private static float[][] randomTensors(int tensors, int elements) {
    SplittableRandom rnd = new SplittableRandom(42);
    float[][] data = new float[tensors][elements];
    for (float[] t : data) {
      for (int i = 0; i < t.length; i++) {
        t[i] = (float) ((rnd.nextDouble() - 0.5) * 0.04);
      }
    }
    return data;
  }

  private static void write(float[][] data, Dtype dtype, Path file) throws IOException {
    SafetensorsWriter w = new SafetensorsWriter(dtype);
    for (int i = 0; i < data.length; i++) {
      w.add(name(i), data[i], data[i].length);
    }
    w.write(file);
  }

  private static void writeArrays(List<NDArray> arrays, Dtype dtype, Path file) throws IOException {
    SafetensorsWriter w = new SafetensorsWriter(dtype);
    for (int i = 0; i < arrays.size(); i++) {
      w.add(name(i), arrays.get(i));
    }
    w.write(file);
  }

  private static void readFloats(Path file, float[][] data) throws IOException {
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      for (int i = 0; i < data.length; i++) {
        float[] v = r.readFloats(name(i));
        check(v[v.length - 1], data[i][v.length - 1], file);
      }
    }
  }

  private static void readArrays(NDManager parent, Path file, float[][] data) throws IOException {
    try (NDManager manager = parent.newSubManager();
        SafetensorsReader r = SafetensorsReader.open(file)) {
      for (int i = 0; i < data.length; i++) {
        try (NDArray a = r.readNDArray(name(i), manager)) {
          if (i == data.length - 1) {
            check(a.getFloat(0), data[i][0], file);
          }
        }
      }
    }
  }

  /** Guards against timing a read that returns the wrong data; bf16 keeps 8 significant bits. */
  private static void check(float actual, float expected, Path file) {
    if (Math.abs(actual - expected) > Math.abs(expected) / 128) {
      throw new IllegalStateException(file + ": read " + actual + ", expected " + expected);
    }
  }

  private static String name(int i) {
    return String.format(Locale.ROOT, "model.layers.%03d.weight", i);
  }

  private static void report(String label, double mb, int reps, Op op) throws IOException {
    op.run(); // warm-up
    double[] seconds = new double[reps];
    for (int i = 0; i < reps; i++) {
      long t0 = System.nanoTime();
      op.run();
      seconds[i] = (System.nanoTime() - t0) / 1e9;
    }
    double[] sorted = seconds.clone();
    Arrays.sort(sorted);
    System.out.printf(Locale.ROOT, "%-24s median %6.0f MB/s, best %6.0f MB/s  (runs %s s)%n", label,
        mb / sorted[reps / 2], mb / sorted[0],
        Arrays.toString(Arrays.stream(seconds).map(s -> Math.round(s * 1000) / 1000.0).toArray()));
  }
}
