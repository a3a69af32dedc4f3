package dev.graft.sync.publish;

import dev.graft.model.LlamaConfig;
import dev.graft.retrofit.ModelSpec;
import dev.graft.sync.PolicyBytes;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.TensorEntry;
import dev.graft.sync.VersionManifest;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer's side of weight sync: publishes complete policy versions and serves the newest few
 * to samplers. Thread-safe.
 *
 * <p>{@link #publish} snapshots the tensors (the trainer may keep updating its arrays right after
 * it returns), packs them little-endian, computes a SHA-256 per tensor, and commits the version
 * only if it is greater than every version before. The newest {@code keepVersions} versions stay
 * available so that a download of the previous one can finish while the next is published;
 * watchers hear of each committed version after it is committed, on the publishing thread.
 *
 * <p>A publisher is one run of a trainer: its {@link #epoch()}, chosen when it is made, stamps
 * every version it publishes, so samplers tell this run's versions from another's.
 */
public final class WeightPublisher {

  /** Versions kept by default: the newest and the one before it. */
  public static final int DEFAULT_KEEP_VERSIONS = 2;

  private static final Logger log = LoggerFactory.getLogger(WeightPublisher.class);

  /** Cancels a {@link #watch} registration. */
  public interface Registration extends AutoCloseable {
    @Override
    void close();
  }

  private final long epoch;
  private final int keepVersions;
  private final Clock clock;
  private final Deque<PublishedVersion> kept = new ArrayDeque<>(); // oldest first; guarded by this
  private final List<Consumer<VersionManifest>> watchers = new CopyOnWriteArrayList<>();

  /**
   * A new run's publisher: a random epoch, {@value #DEFAULT_KEEP_VERSIONS} versions kept, the
   * system clock.
   */
  public WeightPublisher() {
    this(newEpoch(), DEFAULT_KEEP_VERSIONS, Clock.systemUTC());
  }

  /**
   * @param epoch this run's identity, non-zero
   * @param keepVersions how many of the newest versions stay fetchable, &gt;= 1
   * @param clock stamps each version's publication time
   */
  public WeightPublisher(long epoch, int keepVersions, Clock clock) {
    if (epoch == 0) {
      throw new IllegalArgumentException("a publisher's epoch must be non-zero");
    }
    if (keepVersions < 1) {
      throw new IllegalArgumentException("keep versions (" + keepVersions + ") must be >= 1");
    }
    if (clock == null) {
      throw new IllegalArgumentException("a clock is required");
    }
    this.epoch = epoch;
    this.keepVersions = keepVersions;
    this.clock = clock;
  }

  /** A random non-zero run identity. */
  public static long newEpoch() {
    long e;
    do {
      e = new SecureRandom().nextLong();
    } while (e == 0);
    return e;
  }

  /** This run's identity, stamped on every version it publishes. */
  public long epoch() {
    return epoch;
  }

  /**
   * Publishes {@code update} under its own version.
   *
   * @return the committed version's manifest
   * @throws IllegalArgumentException when the version is negative or not greater than the newest
   *     published, or the tensors do not match {@code update.spec()} (names and sizes); nothing
   *     is published then
   */
  public VersionManifest publish(PolicyUpdate update) {
    if (update == null || update.spec() == null || update.tensors() == null) {
      throw new IllegalArgumentException("a policy update needs a config and tensors");
    }
    if (update.version() < 0) {
      throw new IllegalArgumentException("policy version (" + update.version() + ") must be >= 0");
    }
    if (update.epoch() != 0 && update.epoch() != epoch) {
      throw new IllegalArgumentException("the update names epoch " + Long.toUnsignedString(update.epoch())
          + " but this publisher is epoch " + Long.toUnsignedString(epoch));
    }
    checkNewer(update.version()); // fail fast, before the copy
    return commit(update.version(), snapshot(update.spec(), update.tensors()));
  }

  /**
   * Publishes the tensors under the next version: one more than the newest published, 0 first.
   *
   * @throws IllegalArgumentException when the tensors do not match {@code config}
   */
  public VersionManifest publishNext(LlamaConfig config, Map<String, float[]> tensors) {
    if (config == null || tensors == null) {
      throw new IllegalArgumentException("a policy needs a config and tensors");
    }
    return commit(-1, snapshot(ModelSpec.plain(config), tensors));
  }

  /** The newest published version, or -1 before the first. */
  public synchronized long latestVersion() {
    return kept.isEmpty() ? -1 : kept.getLast().version();
  }

  /** The newest version's manifest, empty before the first publish. */
  public synchronized Optional<VersionManifest> latest() {
    return kept.isEmpty() ? Optional.empty() : Optional.of(kept.getLast().manifest());
  }

  /** The versions that can be fetched now, oldest first. */
  public synchronized List<Long> keptVersions() {
    return kept.stream().map(PublishedVersion::version).toList();
  }

  /**
   * The manifest of a kept version.
   *
   * @throws UnknownVersionException when {@code version} is not kept (evicted or not published)
   */
  public VersionManifest manifest(long version) {
    return find(version).manifest();
  }

  /**
   * The manifest of a kept version of {@code requestedEpoch} (0: this publisher's).
   *
   * @throws UnknownVersionException for another run's epoch or a version not kept
   */
  public VersionManifest manifest(long requestedEpoch, long version) {
    return find(requestedEpoch, version).manifest();
  }

  /**
   * Calls {@code watcher} with each version committed from now on, on the publishing thread. A
   * watcher must not block; one that throws is logged and kept.
   */
  public Registration watch(Consumer<VersionManifest> watcher) {
    watchers.add(watcher);
    return () -> watchers.remove(watcher);
  }

  /** A kept version with its bytes; a caller holding it may stream it after it is evicted. */
  synchronized PublishedVersion find(long version) {
    return find(0, version);
  }

  /**
   * A kept version of {@code requestedEpoch} (0: this publisher's).
   *
   * @throws UnknownVersionException when the epoch is another run's, or the version is not kept
   */
  synchronized PublishedVersion find(long requestedEpoch, long version) {
    if (requestedEpoch != 0 && requestedEpoch != epoch) {
      throw new UnknownVersionException("epoch " + Long.toUnsignedString(requestedEpoch)
          + " is another run's: this trainer publishes epoch " + Long.toUnsignedString(epoch)
          + "; watch again for its versions");
    }
    if (version < 0) {
      throw new IllegalArgumentException("policy version (" + version + ") must be >= 0");
    }
    for (PublishedVersion v : kept) {
      if (v.version() == version) {
        return v;
      }
    }
    boolean evicted = !kept.isEmpty() && version < kept.getFirst().version();
    throw new UnknownVersionException(version, keptVersions(), evicted);
  }

  private synchronized void checkNewer(long version) {
    long latest = latestVersion();
    if (version <= latest) {
      throw new IllegalArgumentException("policy version " + version
          + " must be greater than the newest published version (" + latest + ")");
    }
  }

  private VersionManifest commit(long requested, Snapshot s) {
    VersionManifest manifest;
    synchronized (this) {
      long version = requested >= 0 ? requested : latestVersion() + 1;
      checkNewer(version);
      manifest = new VersionManifest(epoch, version, s.spec, s.entries, s.totalBytes, clock.instant());
      kept.addLast(new PublishedVersion(manifest, s.bytes));
      while (kept.size() > keepVersions) {
        kept.removeFirst();
      }
    }
    log.info("published policy version {} ({} tensors, {} bytes)", manifest.version(),
        manifest.tensors().size(), manifest.totalBytes());
    for (Consumer<VersionManifest> w : watchers) {
      try {
        w.accept(manifest);
      } catch (RuntimeException e) {
        log.warn("a policy watcher failed on version {}", manifest.version(), e);
      }
    }
    return manifest;
  }

  private record Snapshot(ModelSpec spec, List<TensorEntry> entries,
      Map<String, byte[]> bytes, long totalBytes) {}

  /** Copies and digests every tensor, in the spec's canonical order. */
  private static Snapshot snapshot(ModelSpec spec, Map<String, float[]> tensors) {
    Map<String, List<Long>> shapes = spec.tensorShapes();
    checkTensorSet(shapes, tensors);
    List<TensorEntry> entries = new ArrayList<>(shapes.size());
    Map<String, byte[]> bytes = new LinkedHashMap<>();
    long total = 0;
    MessageDigest sha = PolicyBytes.sha256();
    for (Map.Entry<String, List<Long>> e : shapes.entrySet()) {
      String name = e.getKey();
      float[] values = tensors.get(name);
      long expected = TensorEntry.elementCount(e.getValue());
      if (values == null || values.length != expected) {
        throw new IllegalArgumentException("tensor " + name + " has "
            + (values == null ? "no values" : values.length + " values")
            + " but its shape " + e.getValue() + " needs " + expected);
      }
      byte[] packed = PolicyBytes.pack(values);
      String digest = HexFormat.of().formatHex(sha.digest(packed));
      entries.add(new TensorEntry(name, e.getValue(), packed.length, digest));
      bytes.put(name, packed);
      total += packed.length;
    }
    return new Snapshot(spec, entries, Collections.unmodifiableMap(bytes), total);
  }

  private static void checkTensorSet(Map<String, List<Long>> shapes, Map<String, float[]> tensors) {
    List<String> extra = tensors.keySet().stream().filter(n -> !shapes.containsKey(n)).sorted().toList();
    if (!extra.isEmpty()) {
      throw new IllegalArgumentException("tensors " + extra + " are not part of the model spec");
    }
    List<String> missing = shapes.keySet().stream().filter(n -> !tensors.containsKey(n)).toList();
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException("the model spec needs tensors " + missing
          + " that the update lacks");
    }
  }

}
