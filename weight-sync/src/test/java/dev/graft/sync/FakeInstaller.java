package dev.graft.sync;

import dev.graft.sync.subscribe.PolicyInstaller;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * A model holder for tests: checks each update against its config like the real one, records it,
 * and can be told to refuse updates or to block inside install until released.
 */
public final class FakeInstaller implements PolicyInstaller {

  private final List<PolicyUpdate> installed = new ArrayList<>();
  private volatile long epoch;
  private volatile long version;
  private final List<Long> retiredFor = new ArrayList<>();
  public volatile boolean refuse;
  public volatile CountDownLatch entered;
  public volatile CountDownLatch gate;

  public FakeInstaller() {
    this(0, -1);
  }

  /** A holder that already serves {@code version} of {@code epoch} (loaded from disk, say). */
  public FakeInstaller(long epoch, long version) {
    this.epoch = epoch;
    this.version = version;
  }

  @Override
  public void install(PolicyUpdate update) {
    if (entered != null) {
      entered.countDown();
    }
    if (gate != null) {
      try {
        gate.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    if (refuse) {
      throw new IllegalArgumentException("fake installer: these tensors do not fit the model");
    }
    for (Map.Entry<String, java.util.List<Long>> e : update.spec().tensorShapes().entrySet()) {
      float[] t = update.tensors().get(e.getKey());
      if (t == null || t.length != TensorEntry.elementCount(e.getValue())) {
        throw new IllegalArgumentException("tensor " + e.getKey() + " does not fit");
      }
    }
    synchronized (this) {
      installed.add(update);
      epoch = update.epoch();
      version = update.version();
    }
  }

  @Override
  public long currentVersion() {
    return version;
  }

  @Override
  public long currentEpoch() {
    return epoch;
  }

  @Override
  public synchronized void retire(long newEpoch) {
    retiredFor.add(newEpoch);
    epoch = 0;
    version = -1;
  }

  /** The new epochs this holder retired its policy for, in order. */
  public synchronized List<Long> retiredFor() {
    return List.copyOf(retiredFor);
  }

  public synchronized List<PolicyUpdate> installed() {
    return List.copyOf(installed);
  }

  public synchronized List<Long> installedVersions() {
    return installed.stream().map(PolicyUpdate::version).toList();
  }
}
