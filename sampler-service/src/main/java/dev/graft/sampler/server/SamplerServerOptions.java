package dev.graft.sampler.server;

import dev.graft.model.ComputeDevice;
import dev.graft.service.ServiceHost;
import dev.graft.service.TransportSecurity;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Validated settings of a {@link SamplerServer}. Build with {@link SamplerServer#builder()}.
 *
 * @param policies the holder to serve from (borrowed, not closed by the server), or null for the
 *     server to create and own one; either way {@link SamplerServer#policies()} is where weight
 *     sync installs versions
 * @param port gRPC port; 0 picks a free one
 * @param engine slots, queue capacity and max_new_tokens limit
 * @param metricsPort HTTP port of {@code /metrics}; 0 picks a free one, -1 turns it off
 * @param shutdownGrace how long {@link SamplerServer#close()} lets in-flight streams finish
 * @param listeners extra observers of the engine (tests, logging)
 * @param device where a holder the server creates keeps its models; ignored for a given holder
 * @param security plaintext or TLS, and which clients may generate
 * @param maxConnectionAge how long a client connection lives before the client is asked to
 *     reconnect (so channels rebalance over replicas); zero: for ever
 * @param modelFingerprint the fixed checkpoint the replica serves ({@link FixedModelSampler}),
 *     reported by GetInfo and required of requests that name a model; "" for a replica that
 *     follows a trainer's policy versions
 */
public record SamplerServerOptions(PolicyHolder policies, int port, GenerationEngine.Options engine,
    int metricsPort, Duration shutdownGrace, List<GenerationEngine.Listener> listeners,
    ComputeDevice device, TransportSecurity security, Duration maxConnectionAge, String modelFingerprint) {

  public SamplerServerOptions {
    if (engine == null) {
      throw new IllegalArgumentException("engine options are required");
    }
    if (device == null) {
      throw new IllegalArgumentException("a device is required (ComputeDevice.AUTO for the engine's default)");
    }
    new ServiceHost.Options("sampler", port, metricsPort, shutdownGrace, security, maxConnectionAge); // validates
    listeners = List.copyOf(listeners);
    modelFingerprint = modelFingerprint == null ? "" : modelFingerprint;
  }

  /** The lifecycle settings of the replica's server. */
  ServiceHost.Options host() {
    return new ServiceHost.Options("sampler", port, metricsPort, shutdownGrace, security, maxConnectionAge);
  }

  /** Builds {@link SamplerServerOptions}; values are validated in {@link #options()}. */
  public static final class Builder {
    private PolicyHolder policies;
    private int port;
    private int slots = GenerationEngine.Options.defaults().slots();
    private int maxQueuedSequences = GenerationEngine.Options.defaults().maxQueuedSequences();
    private int maxNewTokensLimit = GenerationEngine.Options.defaults().maxNewTokensLimit();
    private int metricsPort = -1;
    private Duration shutdownGrace = Duration.ofSeconds(30);
    private final List<GenerationEngine.Listener> listeners = new ArrayList<>();
    private ComputeDevice device = ComputeDevice.AUTO;
    private TransportSecurity security = TransportSecurity.plaintext();
    private Duration maxConnectionAge = Duration.ZERO;
    private String modelFingerprint = "";

    /**
     * The replica serves one fixed checkpoint with this fingerprint (set by
     * {@link FixedModelSampler}); default "": it follows a trainer's policy versions.
     */
    public Builder modelFingerprint(String fingerprint) {
      this.modelFingerprint = fingerprint;
      return this;
    }

    /** How the port is secured (default: plaintext, for loopback; `graft sampler` always says). */
    public Builder security(TransportSecurity s) {
      this.security = s;
      return this;
    }

    /**
     * How long a client connection lives before the client is asked to reconnect, so that
     * long-lived channels rebalance over replicas that came later (default: zero, for ever).
     */
    public Builder maxConnectionAge(Duration d) {
      this.maxConnectionAge = d;
      return this;
    }

    /** Where a holder the server creates keeps its models (default: the engine's default device). */
    public Builder device(ComputeDevice d) {
      this.device = d;
      return this;
    }

    /** Serve from this holder; the caller closes it after the server. */
    public Builder policies(PolicyHolder holder) {
      this.policies = holder;
      return this;
    }

    public Builder port(int p) {
      this.port = p;
      return this;
    }

    /** Sequences decoded together per step. */
    public Builder slots(int n) {
      this.slots = n;
      return this;
    }

    /** Prompts that may wait for a slot; beyond it requests get RESOURCE_EXHAUSTED. */
    public Builder maxQueuedSequences(int n) {
      this.maxQueuedSequences = n;
      return this;
    }

    public Builder maxNewTokensLimit(int n) {
      this.maxNewTokensLimit = n;
      return this;
    }

    public Builder metricsPort(int p) {
      this.metricsPort = p;
      return this;
    }

    public Builder shutdownGrace(Duration d) {
      this.shutdownGrace = d;
      return this;
    }

    public Builder listener(GenerationEngine.Listener l) {
      this.listeners.add(l);
      return this;
    }

    public SamplerServerOptions options() {
      return new SamplerServerOptions(policies, port,
          new GenerationEngine.Options(slots, maxQueuedSequences, maxNewTokensLimit), metricsPort,
          shutdownGrace, listeners, device, security, maxConnectionAge, modelFingerprint);
    }

    /** A server with these options, not yet started. */
    public SamplerServer build() {
      return new SamplerServer(options());
    }
  }
}
