package dev.graft.sampler.server;

import dev.graft.proto.v1.SamplerServiceGrpc;
import dev.graft.service.HostedServer;
import dev.graft.service.ServiceHost;
import java.io.IOException;
import java.util.List;

/**
 * Lifecycle of a sampler replica: serves {@code graft.v1.SamplerService} from a
 * {@link GenerationEngine} over a {@link PolicyHolder}, with gRPC health, server reflection and
 * optionally Prometheus metrics over HTTP at {@code /metrics} ({@link ServiceHost}).
 *
 * <p>Health ({@code ""} and the service name): NOT_SERVING until a policy is installed (Generate
 * answers UNAVAILABLE meanwhile), SERVING from the first install, NOT_SERVING from shutdown on.
 * Shutdown is graceful ({@link HostedServer}).
 */
public final class SamplerServer extends HostedServer {

  private final SamplerServerOptions options;
  private final SamplerMetrics metrics = new SamplerMetrics();
  private final PolicyHolder policies;
  private final boolean ownsPolicies;
  private final PolicyHolder.Listener onInstall = new PolicyHolder.Listener() {
    @Override
    public void installed(long epoch, long version) {
      policyInstalled();
    }

    @Override
    public void retired(long newEpoch) {
      setServing(false); // another run's policy is gone; serving again with the new run's
    }
  };
  private GenerationEngine engine;

  SamplerServer(SamplerServerOptions options) {
    super("sampler");
    this.options = options;
    this.ownsPolicies = options.policies() == null;
    this.policies = ownsPolicies ? new PolicyHolder(options.device()) : options.policies();
  }

  /** Options for a server; see {@link SamplerServerOptions.Builder}. */
  public static SamplerServerOptions.Builder builder() {
    return new SamplerServerOptions.Builder();
  }

  /**
   * Starts the engine, binds the ports and starts serving.
   *
   * @throws IOException if a port cannot be bound
   * @throws IllegalStateException if already started
   */
  public synchronized SamplerServer start() throws IOException {
    checkStartable();
    try {
      engine = new GenerationEngine(policies, options.engine());
      engine.addListener(metrics);
      options.listeners().forEach(engine::addListener);
      metrics.watch(engine, policies);
      hosted(ServiceHost.start(options.host(),
          executor -> List.of(new SamplerGrpcService(engine, metrics, executor, options.modelFingerprint())),
          List.of(SamplerServiceGrpc.SERVICE_NAME), false, metrics.role()));
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
    policies.addListener(onInstall);
    if (policies.currentVersion() >= 0) {
      policyInstalled();
    }
    return this;
  }

  private void policyInstalled() {
    setServing(true);
  }

  /** Where weight sync installs policy versions. */
  public PolicyHolder policies() {
    return policies;
  }

  /** The engine serving requests; {@link GenerationEngine#pause()} holds decoding. */
  public synchronized GenerationEngine engine() {
    started();
    return engine;
  }

  public SamplerMetrics metrics() {
    return metrics;
  }

  /** Stops the engine and closes an owned policy holder. */
  @Override
  protected void release() {
    synchronized (this) {
      policies.removeListener(onInstall);
      if (engine != null) {
        engine.close();
      }
    }
    if (ownsPolicies) { // outside the lock: an install in flight may call policyInstalled
      policies.close();
    }
    metrics.close();
  }
}
