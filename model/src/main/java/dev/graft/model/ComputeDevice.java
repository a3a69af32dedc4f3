package dev.graft.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a role computes: {@code auto} (the engine's default: its first GPU when it has one, else
 * the CPU), {@code cpu}, {@code gpu} (the first GPU) or {@code gpu:N}. Parsed from a
 * command-line option or a run config, and checked against the engine before any work starts: a
 * GPU asked of an engine that has none (the CPU build of the PyTorch native library, or a machine
 * without a visible CUDA device) is refused with what to change.
 *
 * <p>Every native memory manager a role makes for its model and its inputs descends from
 * {@link #newManager()}, so weights, activations and token ids live on the same device.
 */
public record ComputeDevice(Kind kind, int index) {

  /** The kinds of device a role can compute on. */
  public enum Kind { AUTO, CPU, GPU }

  public static final ComputeDevice AUTO = new ComputeDevice(Kind.AUTO, 0);

  public static final ComputeDevice CPU = new ComputeDevice(Kind.CPU, 0);

  private static final Pattern GPU = Pattern.compile("gpu(?::(\\d{1,3}))?");

  public ComputeDevice {
    if (kind == null) {
      throw new IllegalArgumentException("device kind must be given");
    }
    if (index < 0 || (kind != Kind.GPU && index != 0)) {
      throw new IllegalArgumentException("invalid device index " + index + " for " + kind);
    }
  }

  /**
   * Parses {@code auto}, {@code cpu}, {@code gpu} or {@code gpu:N} (case-insensitive).
   *
   * @throws IllegalArgumentException naming the accepted forms
   */
  public static ComputeDevice parse(String text) {
    String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    if (s.equals("cpu")) {
      return CPU;
    }
    if (s.equals("auto")) {
      return AUTO;
    }
    Matcher m = GPU.matcher(s);
    if (m.matches()) {
      return new ComputeDevice(Kind.GPU, m.group(1) == null ? 0 : Integer.parseInt(m.group(1)));
    }
    throw new IllegalArgumentException(
        "invalid device '" + text + "': expected auto, cpu, gpu or gpu:N (N a GPU index, e.g. gpu:1)");
  }

  /**
   * Checks that the engine can compute here.
   *
   * @throws IllegalStateException for a GPU the engine does not see, saying how many it sees and
   *     how to give it a CUDA build
   */
  public ComputeDevice checkAvailable() {
    if (kind == Kind.GPU) {
      int gpus = Engine.getInstance().getGpuCount();
      if (index >= gpus) {
        throw new IllegalStateException("device " + this + " requested but the "
            + Engine.getInstance().getEngineName() + " engine sees " + gpus + " GPU(s)"
            + (gpus == 0 ? ": the native library in use is a CPU build or no CUDA device is"
                + " visible (set PYTORCH_FLAVOR to a CUDA flavour and PYTORCH_LIBRARY_PATH to a"
                + " CUDA libtorch of the engine's version; see docs/performance.md)" : ""));
      }
    }
    return this;
  }

  /** The engine's device (for {@code auto}, the engine's default device). */
  public Device djl() {
    return switch (kind) {
      case AUTO -> Engine.getInstance().defaultDevice();
      case CPU -> Device.cpu();
      case GPU -> Device.gpu(index);
    };
  }

  /**
   * A new root memory manager on this device.
   *
   * @throws IllegalStateException for a GPU the engine does not see ({@link #checkAvailable()})
   */
  public NDManager newManager() {
    return NDManager.newBaseManager(checkAvailable().djl());
  }

  @Override
  public String toString() {
    return switch (kind) {
      case AUTO -> "auto";
      case CPU -> "cpu";
      case GPU -> "gpu:" + index;
    };
  }
}
