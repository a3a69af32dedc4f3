package dev.graft.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.graft.sync.subscribe.RejectReason;
import dev.graft.sync.subscribe.SyncListener;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Records a subscriber's installs and rejections so tests can wait for them, in order. */
public final class SyncEvents implements SyncListener {

  /** One thing the subscriber did. */
  public record Event(long version, RejectReason reason, String message) {
    boolean installed() {
      return reason == null;
    }
  }

  private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();

  @Override
  public void installed(long version, Duration took, long bytes) {
    events.add(new Event(version, null, "installed"));
  }

  @Override
  public void rejected(long version, RejectReason reason, String message) {
    events.add(new Event(version, reason, message));
  }

  /** The next event; fails after 10 s (a generous bound on work that takes milliseconds). */
  public Event next() throws InterruptedException {
    Event e = events.poll(10, TimeUnit.SECONDS);
    assertNotNull(e, "no sync event within 10 s");
    return e;
  }

  public void expectInstalled(long version) throws InterruptedException {
    Event e = next();
    assertEquals(new Event(version, null, "installed"), e, "expected version " + version + " installed");
  }

  public Event expectRejected(long version, RejectReason reason) throws InterruptedException {
    Event e = next();
    assertEquals(version, e.version(), "rejected version; event " + e);
    assertEquals(reason, e.reason(), "rejection reason; event " + e);
    return e;
  }

  public boolean isEmpty() {
    return events.isEmpty();
  }
}
