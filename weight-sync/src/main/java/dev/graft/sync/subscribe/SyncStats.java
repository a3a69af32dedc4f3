package dev.graft.sync.subscribe;

import java.time.Duration;
import java.util.Map;

/**
 * A snapshot of a {@link WeightSubscriber}'s counters.
 *
 * @param servingVersion the installer's current version, -1 before the first
 * @param newestAnnounced the newest version the trainer announced, -1 before any
 * @param versionsInstalled versions this subscriber installed
 * @param policiesRetired policies dropped because the trainer started a new run (epoch)
 * @param rejected versions refused, by reason (every reason present, zero when none)
 * @param lastSyncDuration from first request to swap, for the last installed version;
 *     {@link Duration#ZERO} before the first
 * @param lastSyncBytes tensor bytes transferred for the last installed version
 * @param totalSyncDuration the sum of the sync durations of every installed version
 * @param totalSyncBytes tensor bytes transferred for every installed version
 */
public record SyncStats(long servingVersion, long newestAnnounced, long versionsInstalled,
    long policiesRetired, Map<RejectReason, Long> rejected, Duration lastSyncDuration, long lastSyncBytes,
    Duration totalSyncDuration, long totalSyncBytes) {

  public SyncStats {
    rejected = Map.copyOf(rejected);
  }

  /** Rejections for {@code reason}. */
  public long rejected(RejectReason reason) {
    return rejected.getOrDefault(reason, 0L);
  }
}
