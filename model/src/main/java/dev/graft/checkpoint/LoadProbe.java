package dev.graft.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.model.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Measures loading a checkpoint directory as a process of its own: time, and resident memory
 * against the size of the weights as fp32.
 *
 * <p>Usage: {@code java -cp CLASSPATH dev.graft.checkpoint.LoadProbe MODEL_DIR}. It starts the
 * engine, then loads the directory with {@link HfCheckpoint#load} and builds the {@link
 * LlamaModel} from it, and prints one JSON line to stdout:
 *
 * <pre>{"parameters":N,"fp32_bytes":B,"load_seconds":S,"rss_before_bytes":R0,
 * "peak_rss_bytes":HWM,"peak_over_fp32":X}</pre>
 *
 * <p>{@code parameters} counts the elements of every loaded tensor; {@code fp32_bytes} is four
 * times that. {@code load_seconds} covers loading and building the model. {@code rss_before_bytes}
 * is the resident set ({@code VmRSS}) once the engine is started, just before loading; {@code
 * peak_rss_bytes} is the peak resident set ({@code VmHWM}) after the model is built, the peak
 * having been reset to the current resident set before loading where the kernel allows it ({@code
 * /proc/self/clear_refs}); {@code peak_over_fp32} = (peak − before) / fp32_bytes, so 1.0 means
 * loading needed nothing beyond the fp32 weights themselves. Linux only (reads {@code /proc}).
 *
 * <p>Exit status 0 on success, 1 if the checkpoint is malformed, 2 on a usage error.
 */
public final class LoadProbe {

  private static final Path STATUS = Path.of("/proc/self/status");
  private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

  private LoadProbe() {}

  /** What one load measured. */
  record Result(long parameters, double loadSeconds, long rssBefore, long peakRss) {

    long fp32Bytes() {
      return parameters * 4;
    }

    double peakOverFp32() {
      return (peakRss - rssBefore) / (double) fp32Bytes();
    }

    String toJson() {
      ObjectNode o = new ObjectMapper().createObjectNode();
      o.put("parameters", parameters);
      o.put("fp32_bytes", fp32Bytes());
      o.put("load_seconds", loadSeconds);
      o.put("rss_before_bytes", rssBefore);
      o.put("peak_rss_bytes", peakRss);
      o.put("peak_over_fp32", peakOverFp32());
      return o.toString();
    }
  }

  public static void main(String[] args) {
    if (args.length != 1 || !Files.isDirectory(Path.of(args[0]))) {
      System.err.println("usage: LoadProbe MODEL_DIR   (a directory with config.json and safetensors"
          + " weights)" + (args.length == 1 ? "; not a directory: " + args[0] : ""));
      System.exit(2);
    }
    if (!Files.isReadable(STATUS)) {
      System.err.println("LoadProbe: " + STATUS + " is not readable; it measures memory on Linux only");
      System.exit(2);
    }
    try {
      System.out.println(measure(Path.of(args[0])).toJson());
    } catch (IllegalArgumentException | IOException e) {
      System.err.println("LoadProbe: " + e.getMessage());
      System.exit(1);
    }
  }

  /** Loads {@code dir} on a fresh manager, builds its model, and reports what that took. */
  static Result measure(Path dir) throws IOException {
    try (NDManager manager = NDManager.newBaseManager()) {
      startEngine(manager);
      System.gc();
      resetPeak();
      long before = statusBytes("VmRSS");
      long t0 = System.nanoTime();
      HfCheckpoint checkpoint = HfCheckpoint.load(dir, manager);
      try (LlamaModel model = LlamaModel.fromTensors(checkpoint.config(), manager,
          checkpoint.tensors())) {
        double seconds = (System.nanoTime() - t0) / 1e9;
        long peak = statusBytes("VmHWM");
        long parameters = checkpoint.tensors().values().stream().mapToLong(NDArray::size).sum();
        return new Result(parameters, seconds, before, peak);
      }
    }
  }

  /** Loads the engine's native library and runs one operation, so that loading does not pay it. */
  private static void startEngine(NDManager manager) {
    try (NDManager scratch = manager.newSubManager()) {
      NDArray a = scratch.ones(new Shape(64, 64));
      a.matMul(a).sum().getFloat();
    }
  }

  /** Resets VmHWM to the current resident set; without it the peak is the process's whole life's. */
  private static void resetPeak() {
    try {
      Files.writeString(CLEAR_REFS, "5");
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      // Older kernels or restricted containers: the peak then includes start-up, an overestimate.
    }
  }

  /** A {@code kB} field of {@code /proc/self/status}, in bytes. */
  static long statusBytes(String field) throws IOException {
    for (String line : Files.readAllLines(STATUS)) {
      if (line.startsWith(field + ":")) {
        String[] parts = line.substring(field.length() + 1).trim().split("\\s+");
        return Long.parseLong(parts[0]) * 1024;
      }
    }
    throw new IllegalStateException(STATUS + " has no field " + field);
  }
}
