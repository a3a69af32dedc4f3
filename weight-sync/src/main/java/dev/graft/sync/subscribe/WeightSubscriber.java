package dev.graft.sync.subscribe;

import dev.graft.service.TransportSecurity;
import dev.graft.sync.PolicyUpdate;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sampler's side of weight sync: keeps a {@link PolicyInstaller} on the trainer's newest
 * policy version. Thread-safe; one background thread does the work.
 *
 * <p>It watches the trainer's versions (reopening the watch with bounded exponential backoff when
 * it drops), and for every version newer than the installer's it fetches the manifest and all
 * tensors in chunks, verifies the tensor set and shapes against the config, each tensor's length
 * and SHA-256, and only then calls {@link PolicyInstaller#install}. A version that fails any
 * check, whose download breaks, or that the installer refuses is logged, counted by
 * {@link RejectReason} and dropped: the sampler keeps serving what it had. A retryable failure
 * is tried again after a backoff, up to {@code maxAttemptsPerVersion}; then, or at once for a
 * non-retryable one, the subscriber waits for a newer version (or for a fresh watch stream to
 * announce the same version again, for a retryable failure).
 *
 * <p>{@link #ready()} completes once the installer serves a version at least as new as the first
 * one announced: a sampler that starts late reports ready only after catching up (and not before
 * the trainer has published anything).
 *
 * <p>Longer than most classes on purpose: the watch, the download in flight, the retries and
 * close all change one guarded state; transfers are {@link PolicyFetcher}'s, verification
 * {@link WeightAssembler}'s.
 */
public final class WeightSubscriber implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WeightSubscriber.class);

  private final WeightSubscriberOptions options;
  private final Channel channel;
  private final ManagedChannel ownedChannel;
  private final TransportSecurity.Opened<?> ownedCredentials; // of ownedChannel; null with it
  private final PolicyInstaller installer;
  private final PolicyFetcher fetcher;
  private final CompletableFuture<Long> ready = new CompletableFuture<>();
  private final SyncCounters counters = new SyncCounters();

  // Guarded by this.
  private Thread worker;
  private boolean closed;
  private boolean sleeping;
  private VersionWatch watch; // null: no live watch stream, open one
  private int watchFailures;
  private long announcedEpoch; // 0 until the first announcement
  private long announced = -1; // the newest version of announcedEpoch
  private long firstAnnouncedEpoch;
  private long firstAnnounced = -1;
  private final RetryTracker retries;
  private Context.CancellableContext download;

  WeightSubscriber(WeightSubscriberOptions options, Channel channel, ManagedChannel ownedChannel,
      TransportSecurity.Opened<?> ownedCredentials) {
    this.options = options;
    this.channel = channel;
    this.ownedChannel = ownedChannel;
    this.ownedCredentials = ownedCredentials;
    this.installer = options.installer();
    this.fetcher = new PolicyFetcher(channel, options.manifestDeadline(), options.fetchDeadline());
    this.retries = new RetryTracker(options.maxAttemptsPerVersion());
  }

  /** Settings and the trainer's address; see {@link WeightSubscriberOptions.Builder}. */
  public static WeightSubscriberOptions.Builder builder() {
    return new WeightSubscriberOptions.Builder();
  }

  /**
   * Starts watching and syncing in the background.
   *
   * @throws IllegalStateException when already started or closed
   */
  public synchronized WeightSubscriber start() {
    if (worker != null || closed) {
      throw new IllegalStateException("a weight subscriber starts once");
    }
    worker = new Thread(this::run, "policy-sync");
    worker.setDaemon(true);
    worker.start();
    return this;
  }

  /** Completes with the served version once caught up with the first announced version. */
  public CompletableFuture<Long> ready() {
    return ready.copy();
  }

  /**
   * Blocks until {@link #ready()}: the version served then.
   *
   * @throws TimeoutException when not caught up within {@code timeout}
   * @throws IllegalStateException when the subscriber closed first
   */
  public long awaitFirstVersion(Duration timeout) throws InterruptedException, TimeoutException {
    try {
      return ready.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException("the weight subscriber closed before it was ready", e.getCause());
    }
  }

  /** A snapshot of the counters. */
  public SyncStats stats() {
    long newest;
    synchronized (this) {
      newest = announced;
    }
    return counters.snapshot(installer.currentVersion(), newest);
  }

  /** Stops watching, aborts a download in progress, waits for the thread. Idempotent. */
  @Override
  public void close() {
    Thread w;
    VersionWatch o;
    Context.CancellableContext d;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      w = worker;
      o = watch;
      watch = null;
      d = download;
      if (sleeping) {
        w.interrupt();
      }
      notifyAll();
    }
    if (o != null) {
      o.cancel();
    }
    if (d != null) {
      d.cancel(null);
    }
    if (w != null && w != Thread.currentThread()) {
      try {
        w.join(TimeUnit.SECONDS.toMillis(30));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (ownedChannel != null) {
      ownedChannel.shutdownNow();
      ownedCredentials.close();
    }
    ready.completeExceptionally(new IllegalStateException("the weight subscriber is closed"));
  }

  private enum Kind { WATCH, RETIRE, SYNC }

  private record Step(Kind kind, int failures, long epoch, long version) {}

  private void run() {
    try {
      for (Step s = nextStep(); s != null; s = nextStep()) {
        switch (s.kind()) {
          case WATCH -> openWatch(s.failures());
          case RETIRE -> retire(s.epoch());
          case SYNC -> sync(s.epoch(), s.version());
        }
      }
    } catch (InterruptedException e) {
      // closing
    }
  }

  /** The next thing to do, waiting until there is one; null once closed. */
  private synchronized Step nextStep() throws InterruptedException {
    while (!closed) {
      if (watch == null) {
        return new Step(Kind.WATCH, watchFailures, 0, -1);
      }
      long serving = installer.currentEpoch();
      if (announcedEpoch != 0 && serving != 0 && serving != announcedEpoch) {
        return new Step(Kind.RETIRE, 0, announcedEpoch, -1);
      }
      long target = announced;
      boolean behind = serving != announcedEpoch || target > installer.currentVersion();
      if (announcedEpoch != 0 && behind && !retries.blocks(target)) {
        return new Step(Kind.SYNC, 0, announcedEpoch, target);
      }
      wait();
    }
    return null;
  }

  private void openWatch(int failures) throws InterruptedException {
    if (failures > 0) {
      pause(options.backoff().delay(failures));
    }
    VersionWatch w = new VersionWatch(this::onAnnounced, this::onWatchEnded);
    synchronized (this) {
      if (closed) {
        return;
      }
      watch = w;
    }
    // Ask for the newest at once, even if not newer than ours: it tells where the trainer is.
    w.open(channel, -1, options.watchRenewal());
  }

  private synchronized void onAnnounced(VersionWatch w, long epoch, long version, boolean first) {
    if (watch != w) {
      return;
    }
    watchFailures = 0;
    if (first) {
      retries.freshAnnouncement();
    }
    if (epoch != announcedEpoch) { // a new run of the trainer: its versions start afresh
      announcedEpoch = epoch;
      announced = version;
      retries.succeeded();
    } else {
      announced = Math.max(announced, version);
    }
    if (firstAnnounced < 0) {
      firstAnnouncedEpoch = epoch;
      firstAnnounced = version;
    }
    checkReady();
    notifyAll();
  }

  private synchronized void onWatchEnded(VersionWatch w, Status status) {
    if (watch != w || closed) {
      return;
    }
    watch = null;
    if (status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
      watchFailures = 0; // the renewal deadline: reopen at once
    } else {
      watchFailures++;
      log.warn("the policy watch stream failed ({}{}); reconnecting in {} ms", status.getCode(),
          status.getDescription() == null ? "" : ": " + status.getDescription(),
          options.backoff().delay(watchFailures).toMillis());
    }
    notifyAll();
  }

  /** Drops the policy of another run before fetching one of {@code epoch}. */
  private void retire(long epoch) {
    long old = installer.currentEpoch();
    installer.retire(epoch);
    log.warn("the trainer now publishes epoch {}: dropped the policy of epoch {} (version {}) until a version"
        + " of the new run is installed", Long.toUnsignedString(epoch), Long.toUnsignedString(old),
        installer.currentVersion());
    counters.retired();
    options.listener().retired(old, epoch);
  }

  private void sync(long epoch, long version) throws InterruptedException {
    long start = options.nanoTicker().getAsLong();
    Context.CancellableContext context = Context.ROOT.withCancellation();
    synchronized (this) {
      if (closed) {
        return;
      }
      download = context;
    }
    try {
      PolicyFetcher.Fetched fetched = fetcher.fetch(epoch, version, context);
      install(fetched.update());
      installed(version, Duration.ofNanos(options.nanoTicker().getAsLong() - start), fetched.bytes());
    } catch (SyncRejectedException e) {
      if (!isClosed()) {
        rejected(version, e);
      }
    } finally {
      synchronized (this) {
        download = null;
      }
    }
  }

  private void install(PolicyUpdate update) {
    try {
      installer.install(update);
    } catch (RuntimeException e) {
      throw new SyncRejectedException(RejectReason.INSTALLER_REJECTED,
          "the installer refused it: " + e.getMessage(), e);
    }
  }

  private void installed(long version, Duration took, long bytes) {
    counters.installed(took, bytes);
    synchronized (this) {
      retries.succeeded();
      checkReady();
    }
    log.info("installed policy version {} ({} bytes in {} ms)", version, bytes, took.toMillis());
    options.listener().installed(version, took, bytes);
  }

  private void rejected(long version, SyncRejectedException e) throws InterruptedException {
    RejectReason reason = e.reason();
    counters.rejected(reason);
    int attempts;
    boolean retry;
    synchronized (this) {
      attempts = retries.failed(version, reason);
      retry = retries.retrying();
    }
    Duration wait = options.backoff().delay(attempts);
    log.warn("rejected policy version {} ({}, attempt {}): {}; still serving version {}; {}",
        version, reason, attempts, e.getMessage(), installer.currentVersion(),
        retry ? "retrying in " + wait.toMillis() + " ms" : "waiting for a newer version");
    options.listener().rejected(version, reason, e.getMessage());
    if (retry) {
      pause(wait);
    }
  }

  private void pause(Duration d) throws InterruptedException {
    synchronized (this) {
      if (closed) {
        throw new InterruptedException("closed");
      }
      sleeping = true;
    }
    try {
      options.sleeper().sleep(d);
    } finally {
      synchronized (this) {
        sleeping = false;
      }
    }
  }

  private synchronized boolean isClosed() {
    return closed;
  }

  /** Holds this lock. */
  private void checkReady() {
    long serving = installer.currentVersion();
    boolean sameRun = announcedEpoch != 0 && installer.currentEpoch() == announcedEpoch;
    if (firstAnnounced >= 0 && sameRun && (announcedEpoch != firstAnnouncedEpoch || serving >= firstAnnounced)) {
      ready.complete(serving);
    }
  }
}
