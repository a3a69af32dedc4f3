package dev.graft.sync.subscribe;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** A subscriber's counters: installs, rejections by reason, the last sync. Thread-safe. */
final class SyncCounters {

  private final AtomicLong installed = new AtomicLong();
  private final AtomicLong retired = new AtomicLong();
  private final Map<RejectReason, AtomicLong> rejected = new EnumMap<>(RejectReason.class);
  private volatile Duration lastDuration = Duration.ZERO;
  private volatile long lastBytes;
  private final AtomicLong totalNanos = new AtomicLong();
  private final AtomicLong totalBytes = new AtomicLong();

  SyncCounters() {
    for (RejectReason r : RejectReason.values()) {
      rejected.put(r, new AtomicLong()); // filled once: reads need no lock
    }
  }

  void installed(Duration took, long bytes) {
    lastDuration = took;
    lastBytes = bytes;
    totalNanos.addAndGet(took.toNanos());
    totalBytes.addAndGet(bytes);
    installed.incrementAndGet();
  }

  void retired() {
    retired.incrementAndGet();
  }

  void rejected(RejectReason reason) {
    rejected.get(reason).incrementAndGet();
  }

  SyncStats snapshot(long servingVersion, long newestAnnounced) {
    Map<RejectReason, Long> counts = new EnumMap<>(RejectReason.class);
    rejected.forEach((r, n) -> counts.put(r, n.get()));
    return new SyncStats(servingVersion, newestAnnounced, installed.get(), retired.get(), counts,
        lastDuration, lastBytes, Duration.ofNanos(totalNanos.get()), totalBytes.get());
  }
}
