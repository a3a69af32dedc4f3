package dev.graft.service;

import java.time.Duration;

/**
 * The lifecycle every role server shares around its {@link ServiceHost}: it starts once, exposes
 * its bound ports, shuts down gracefully ({@link #shutdown()} refuses new calls while in-flight
 * streams finish) and closes idempotently ({@link #close()} waits up to the grace period, cancels
 * what is left, then lets the role free its own resources once, in {@link #release()}).
 */
public abstract class HostedServer implements AutoCloseable {

  private final String role;
  private volatile ServiceHost host;
  private boolean closed;

  /** @param role how messages name this server ("teacher", "sampler") */
  protected HostedServer(String role) {
    this.role = role;
  }

  /** @throws IllegalStateException when started or closed before */
  protected final synchronized void checkStartable() {
    if (host != null || closed) {
      throw new IllegalStateException("a " + role + " server starts once");
    }
  }

  /** Records the host a successful start bound. */
  protected final synchronized void hosted(ServiceHost started) {
    this.host = started;
  }

  /** The host; @throws IllegalStateException before {@link #hosted} */
  protected final synchronized ServiceHost started() {
    if (host == null) {
      throw new IllegalStateException("the " + role + " server is not started; call start()");
    }
    return host;
  }

  /**
   * Health of every service this host serves; ignored before start. Takes no lock of this
   * server, so listeners called under another component's lock may use it.
   */
  protected final void setServing(boolean serving) {
    ServiceHost h = host;
    if (h != null) {
      h.setServing(serving);
    }
  }

  /** The bound gRPC port (the actual one when 0 was asked for). */
  public final synchronized int port() {
    return started().port();
  }

  /** The bound metrics port, or -1 when metrics over HTTP are off. */
  public final synchronized int metricsPort() {
    return started().metricsPort();
  }

  /** Reports NOT_SERVING and refuses new calls; in-flight streams go on. Idempotent. */
  public final synchronized void shutdown() {
    if (host != null) {
      host.shutdown();
    }
  }

  /** Waits until every call has finished after {@link #shutdown()}; false on timeout. */
  public final boolean awaitTermination(Duration timeout) throws InterruptedException {
    ServiceHost h;
    synchronized (this) {
      h = host;
    }
    return h == null || h.awaitTermination(timeout);
  }

  /** Blocks until the server terminates (for a main thread). */
  public final void blockUntilShutdown() throws InterruptedException {
    while (!awaitTermination(Duration.ofDays(1))) {
      // keep waiting
    }
  }

  /**
   * Shuts down, waits up to the grace period for in-flight streams, cancels the rest, then calls
   * {@link #release()} once. Idempotent; also what a failed start calls.
   */
  @Override
  public final void close() {
    ServiceHost h;
    synchronized (this) {
      h = host;
    }
    if (h != null) {
      h.close();
    }
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    release();
  }

  /** Frees the role's own resources; called once, after the host is closed, holding no lock. */
  protected abstract void release();
}
