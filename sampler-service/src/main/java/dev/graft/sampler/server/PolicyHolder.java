package dev.graft.sampler.server;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.ComputeDevice;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.sampler.SamplerUnavailableException;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.subscribe.PolicyInstaller;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The sampler's current policy: a version of a trainer run (an epoch) and the
 * {@link LlamaModel} built from it.
 *
 * <p>{@link #install} validates an update completely (version, names, shapes, element counts)
 * before building the model, then swaps it in atomically; a rejected update leaves the current
 * policy serving. Versions strictly increase within an epoch; a version of another epoch (a new
 * run) replaces whatever is served, and {@link #retire} drops the current policy as soon as a new
 * run is announced, so nothing is generated from another run's weights. The vocabulary size and
 * context length never change once a first policy is installed, because clients validated their
 * requests against them.
 *
 * <p>Users {@link #acquire} a {@link Policy} and close it when done; a replaced model's native
 * memory is freed when its last user closes it, so generation that started on version v finishes
 * on v. Thread-safe.
 *
 * <p>Longer than most classes on purpose: validation, the epoch/version rules, the swap and the
 * reference counting share one lock and are kept in one place so their invariants can be read
 * together.
 */
public final class PolicyHolder implements PolicyInstaller, AutoCloseable {

  private final NDManager manager;
  private final AtomicReference<Policy> current = new AtomicReference<>();
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private volatile boolean closed;
  private LlamaConfig contract; // the first policy's config; guarded by this
  private volatile long retiredFor; // the new run's epoch after a retire, until one of its versions arrives

  /** A holder whose models live on the engine's default device. */
  public PolicyHolder() {
    this(ComputeDevice.AUTO);
  }

  /** A holder whose models, and the arrays generation makes from them, live on {@code device}. */
  public PolicyHolder(ComputeDevice device) {
    this.manager = device.newManager();
  }

  /** Hears the holder's changes, on the installing thread; must not block. */
  public interface Listener {
    /** A policy is current now. */
    default void installed(long epoch, long version) {}

    /** The current policy was dropped for a new run ({@code newEpoch}); nothing is served. */
    default void retired(long newEpoch) {}
  }

  /**
   * Validates {@code update}, builds its model and makes it current.
   *
   * @throws IllegalArgumentException if the version does not exceed the current one, a tensor is
   *     missing, unexpected or mis-shaped, or the vocabulary or context differs from the current
   *     policy's; the current policy stays
   * @throws IllegalStateException after {@link #close()}
   */
  @Override
  public void install(PolicyUpdate update) {
    if (update == null || update.spec() == null || update.tensors() == null) {
      throw new IllegalArgumentException("a policy update needs a model spec and tensors");
    }
    synchronized (this) {
      checkInstallable(update.epoch(), update.version(), update.config());
      Map<String, List<Long>> shapes = update.spec().tensorShapes();
      checkTensors(shapes, update.tensors());
      LlamaModel model;
      try (NDManager scratch = manager.newSubManager()) {
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        update.tensors().forEach((name, values) -> arrays.put(name, scratch.create(values, shape(shapes.get(name)))));
        model = update.spec().build(arrays, manager); // moves the arrays
      }
      swap(update.epoch(), update.version(), model);
    }
  }

  /**
   * Makes an existing model current at {@code version} of epoch 0 (a policy installed by hand,
   * not by a trainer); the holder takes ownership and closes the
   * model once it is replaced and unused. The model's parent manager must outlive the holder. Any
   * model decodes, whatever its mixers (a retrofit student at any α included).
   *
   * @throws IllegalArgumentException as for {@link #install(PolicyUpdate)}; the caller then keeps
   *     the model
   */
  public void install(long version, LlamaModel model) {
    synchronized (this) {
      checkInstallable(0, version, model.config());
      swap(0, version, model);
    }
  }

  /** The version served now, or -1 before the first install and after a retire. */
  @Override
  public long currentVersion() {
    Policy p = current.get();
    return p == null ? -1 : p.version;
  }

  /** The epoch of the version served now, or 0 when none is served. */
  @Override
  public long currentEpoch() {
    Policy p = current.get();
    return p == null ? 0 : p.epoch;
  }

  /** Whether {@code p} is still the current policy. */
  public boolean isCurrent(Policy p) {
    return current.get() == p;
  }

  /**
   * Drops the current policy (freed once its users close it): the trainer started run
   * {@code newEpoch}, and the served weights are another run's. Until a version of the new epoch
   * is installed nothing is served.
   */
  @Override
  public void retire(long newEpoch) {
    synchronized (this) {
      Policy old = current.getAndSet(null);
      retiredFor = newEpoch;
      if (old != null) {
        old.close();
      }
    }
    listeners.forEach(l -> l.retired(newEpoch));
  }

  /** The current policy's config, or null before the first install. */
  public LlamaConfig config() {
    Policy p = current.get();
    return p == null ? null : p.model.config();
  }

  /**
   * The current policy, retained until the returned handle is closed.
   *
   * @throws SamplerUnavailableException before the first install
   * @throws IllegalStateException after {@link #close()}
   */
  public Policy acquire() {
    while (true) {
      Policy p = current.get();
      if (p == null) {
        if (isClosed()) {
          throw new IllegalStateException("the policy holder is closed");
        }
        long epoch = retiredFor;
        throw new SamplerUnavailableException(epoch == 0 ? "no policy has been installed yet"
            : "the trainer started a new run (epoch " + Long.toUnsignedString(epoch)
                + "); no policy of it is installed yet");
      }
      if (p.retain()) {
        return p;
      }
      // p was replaced and freed between get() and retain(): read the new one.
    }
  }

  /** Tells {@code listener} of every install (after the swap) and retire. */
  public void addListener(Listener listener) {
    listeners.add(listener);
  }

  public void removeListener(Listener listener) {
    listeners.remove(listener);
  }

  /** Drops the current policy (freed once unused) and refuses further installs. Idempotent. */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
      Policy p = current.getAndSet(null);
      if (p != null) {
        p.close();
      }
    }
  }

  private boolean isClosed() {
    return closed;
  }

  private void checkInstallable(long epoch, long version, LlamaConfig config) {
    if (closed) {
      throw new IllegalStateException("the policy holder is closed");
    }
    if (version < 0) {
      throw new IllegalArgumentException("policy version must be >= 0, got " + version);
    }
    Policy p = current.get();
    if (p != null && p.epoch == epoch && version <= p.version) {
      throw new IllegalArgumentException("policy version " + version
          + " is not newer than the current version " + p.version);
    }
    if (contract != null && (config.vocabSize() != contract.vocabSize()
        || config.maxPositionEmbeddings() != contract.maxPositionEmbeddings())) {
      throw new IllegalArgumentException("policy " + version + " has vocab_size "
          + config.vocabSize() + " and max_position_embeddings " + config.maxPositionEmbeddings()
          + " but the sampler serves " + contract.vocabSize() + " and " + contract.maxPositionEmbeddings()
          + "; restart the sampler for a model with another vocabulary or context");
    }
  }

  private static void checkTensors(Map<String, List<Long>> expected, Map<String, float[]> tensors) {
    var missing = new TreeSet<>(expected.keySet());
    missing.removeAll(tensors.keySet());
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException("policy update lacks tensor(s) " + missing);
    }
    var extra = new TreeSet<>(tensors.keySet());
    extra.removeAll(expected.keySet());
    if (!extra.isEmpty()) {
      throw new IllegalArgumentException("policy update has tensor(s) its model spec does not: " + extra);
    }
    for (var e : expected.entrySet()) {
      float[] values = tensors.get(e.getKey());
      long want = shape(e.getValue()).size();
      if (values == null || values.length != want) {
        throw new IllegalArgumentException("tensor '" + e.getKey() + "' has "
            + (values == null ? "no" : values.length) + " values but shape "
            + shape(e.getValue()) + " needs " + want);
      }
    }
  }

  private static Shape shape(List<Long> dims) {
    return new Shape(dims.stream().mapToLong(Long::longValue).toArray());
  }

  private void swap(long epoch, long version, LlamaModel model) {
    Policy old = current.getAndSet(new Policy(epoch, version, model));
    if (contract == null) {
      contract = model.config();
    }
    retiredFor = 0;
    if (old != null) {
      old.close(); // the holder's own reference; users still holding it keep it alive
    }
    listeners.forEach(l -> l.installed(epoch, version));
  }

  /**
   * One policy version and its model, reference-counted: the holder holds one reference while the
   * policy is current, each {@link #acquire} one more. The model closes with the last reference.
   */
  public static final class Policy implements AutoCloseable {
    private final long epoch;
    private final long version;
    private final LlamaModel model;
    private int references = 1;

    private Policy(long epoch, long version, LlamaModel model) {
      this.epoch = epoch;
      this.version = version;
      this.model = model;
    }

    /** The trainer run that published it; 0 for a policy installed by hand. */
    public long epoch() {
      return epoch;
    }

    public long version() {
      return version;
    }

    /** The model; valid until this handle is closed. */
    public LlamaModel model() {
      return model;
    }

    private synchronized boolean retain() {
      if (references == 0) {
        return false;
      }
      references++;
      return true;
    }

    /** Releases one reference; the last one frees the model. Call once per acquire. */
    @Override
    public void close() {
      boolean free;
      synchronized (this) {
        if (references == 0) {
          return;
        }
        free = --references == 0;
      }
      if (free) {
        model.close();
      }
    }

    /** Whether the model's memory has been freed. */
    public synchronized boolean isFreed() {
      return references == 0;
    }
  }
}
