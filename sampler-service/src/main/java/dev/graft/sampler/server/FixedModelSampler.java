package dev.graft.sampler.server;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.model.LlamaModel;
import dev.graft.model.ModelFingerprint;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A sampler replica that serves one fixed checkpoint instead of following a trainer: the teacher,
 * whose continuations of corpus prompts a sequence-level distillation run trains on
 * ({@code graft sampler --model DIR}). The checkpoint is installed once as version 0 (epoch 0) and
 * decoded by the same engine, continuous batching and sampling code as a student policy. GetInfo
 * reports the model's fingerprint, computed as a teacher-service computes its own
 * ({@link ModelFingerprint}), and a request that names another model is refused with
 * FAILED_PRECONDITION, so a trainer can check that it reads the teacher's text.
 */
public final class FixedModelSampler implements AutoCloseable {

  private final NDManager manager;
  private final PolicyHolder policies;
  private final SamplerServer server;
  private final String fingerprint;

  private FixedModelSampler(NDManager manager, PolicyHolder policies, SamplerServer server, String fingerprint) {
    this.manager = manager;
    this.policies = policies;
    this.server = server;
    this.fingerprint = fingerprint;
  }

  /**
   * Loads the Hugging Face checkpoint in {@code checkpointDir} on the builder's device and starts
   * serving it.
   *
   * @param server the server's settings; its policy holder and model fingerprint are set here
   * @throws IllegalArgumentException if the checkpoint is malformed
   * @throws IOException if it cannot be read or a port cannot be bound; nothing is left running then
   */
  public static FixedModelSampler start(SamplerServerOptions.Builder server, Path checkpointDir)
      throws IOException {
    NDManager manager = server.options().device().newManager();
    PolicyHolder policies = null;
    try {
      HfCheckpoint ckpt = HfCheckpoint.load(checkpointDir, manager);
      LlamaModel model = LlamaModel.fromTensors(ckpt.config(), manager, ckpt.tensors());
      String fingerprint = ModelFingerprint.of(model.config(), model.namedParameters());
      policies = new PolicyHolder(server.options().device());
      policies.install(0, model);
      SamplerServer s = server.policies(policies).modelFingerprint(fingerprint).build().start();
      return new FixedModelSampler(manager, policies, s, fingerprint);
    } catch (IOException | RuntimeException e) {
      if (policies != null) {
        policies.close();
      }
      manager.close();
      throw e;
    }
  }

  public SamplerServer server() {
    return server;
  }

  /** The served model's fingerprint (as the teacher-service serving the same checkpoint reports). */
  public String fingerprint() {
    return fingerprint;
  }

  /** The bound gRPC port. */
  public int port() {
    return server.port();
  }

  /** The bound metrics port, or -1 when off. */
  public int metricsPort() {
    return server.metricsPort();
  }

  /** Blocks until the server terminates (for a main thread). */
  public void blockUntilShutdown() throws InterruptedException {
    server.blockUntilShutdown();
  }

  /** Shuts the server down gracefully, then frees the model. Idempotent. */
  @Override
  public void close() {
    server.close();
    policies.close();
    manager.close();
  }
}
