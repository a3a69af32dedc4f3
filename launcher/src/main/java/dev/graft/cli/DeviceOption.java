package dev.graft.cli;

import dev.graft.model.ComputeDevice;
import picocli.CommandLine.Option;

/** {@code --device}: where a role computes, checked against the engine before any work. */
final class DeviceOption {

  @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "${env:GRAFT_DEVICE:-auto}",
      description = {"Where the model computes: cpu, gpu (the first GPU), gpu:N, or auto (the engine's default:"
          + " its first GPU when it has a CUDA build and a visible device, else the CPU). A GPU the engine"
          + " does not see is refused before any work. Default: ${DEFAULT-VALUE} (env GRAFT_DEVICE)."})
  String device;

  /** The parsed device, checked against the engine. */
  ComputeDevice device() {
    return ComputeDevice.parse(device).checkAvailable();
  }
}
