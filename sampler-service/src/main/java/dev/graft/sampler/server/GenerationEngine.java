package dev.graft.sampler.server;

import dev.graft.model.LlamaConfig;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplerInfo;
import dev.graft.sampler.SamplerUnavailableException;
import dev.graft.sampler.SamplingParams;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sampler's generation engine: KV-cached decoding with continuous batching over a fixed
 * number of slots. Prompts queue in submission order; a free slot takes the next queued prompt
 * at once (prefill, then its first token), and every decode step advances all occupied slots by
 * one token in one batched forward pass, each at its own position (the model's own decoding,
 * {@link dev.graft.model.LlamaModel#decodeNext}). A slot
 * freed by a finished sequence is refilled before the next step, without waiting for the others.
 *
 * <p>Policy versions: the engine decodes with one version at a time. A job is pinned to the
 * running version when its first prompt takes a slot, and its remaining prompts run on that
 * version. When a newer version is installed, the engine stops admitting new jobs, lets the
 * occupied slots finish on the old version, then switches (and frees the old model once unused).
 * So every token of a rollout, and every rollout of a job, comes from one version.
 *
 * <p>Sampling is per sequence ({@link dev.graft.sampler.TokenSampler}) with its own
 * {@link java.util.Random} seeded from the job's seed plus the prompt index: the same seed,
 * prompt and weights give the same rollout whatever else is batched with it. Thread-safe; one worker thread runs the model.
 *
 * <p>Longer than most classes on purpose: the queue, the pause flag, the closed flag and the
 * worker's wait all share one lock and one condition, and splitting them would spread that
 * protocol over several files. The slot work itself is {@link SlotRunner}'s.
 */
public final class GenerationEngine implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(GenerationEngine.class);

  /**
   * @param slots sequences decoded together, &ge; 1
   * @param maxQueuedSequences prompts that may wait for a slot, &ge; 1; one job may not carry more
   * @param maxNewTokensLimit the largest {@code max_new_tokens} a job may ask for, &ge; 1
   */
  public record Options(int slots, int maxQueuedSequences, int maxNewTokensLimit) {
    public Options {
      if (slots < 1 || maxQueuedSequences < 1 || maxNewTokensLimit < 1) {
        throw new IllegalArgumentException("slots (" + slots + "), max queued sequences ("
            + maxQueuedSequences + ") and max new tokens limit (" + maxNewTokensLimit
            + ") must be >= 1");
      }
    }

    /** 8 slots, 256 queued prompts, 1024 new tokens at most. */
    public static Options defaults() {
      return new Options(8, 256, 1024);
    }
  }

  /** Observes the engine; called on its worker thread (except onQueued), must not block. */
  public interface Listener {
    /** Prompts now waiting for a slot, after a submission. */
    default void onQueued(int depth) {}

    /** Prompt {@code index} of job {@code jobId} took {@code slot} and is being prefilled. */
    default void onAdmitted(long jobId, int index, int slot) {}

    /** A batched decode step over {@code activeSlots} sequences finished. */
    default void onStep(int activeSlots) {}

    /** Tokens generated (by a prefill or a decode step). */
    default void onTokens(int count) {}

    default void onFinished(long jobId, int index, Rollout rollout) {}

    /** The engine now decodes with {@code version}. */
    default void onPolicySwitch(long version) {}
  }

  private final PolicyHolder policies;
  private final Options options;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final Deque<Sequence> queue = new ArrayDeque<>();
  private final AtomicLong nextJobId = new AtomicLong();
  private final PolicyHolder.Listener onInstall = new PolicyHolder.Listener() {
    @Override
    public void installed(long epoch, long version) {
      signal();
    }

    @Override
    public void retired(long newEpoch) {
      signal();
    }
  };
  private final SlotRunner runner;
  private final Thread worker;
  private boolean paused;
  private boolean closed;

  /** Starts the worker thread. The holder stays owned by the caller and must outlive the engine. */
  public GenerationEngine(PolicyHolder policies, Options options) {
    this.policies = policies;
    this.options = options;
    this.runner = new SlotRunner(policies, options.slots(), listeners);
    policies.addListener(onInstall);
    this.worker = new Thread(this::runWorker, "sampler-engine");
    worker.setDaemon(true);
    worker.start();
  }

  public void addListener(Listener listener) {
    listeners.add(listener);
  }

  public Options options() {
    return options;
  }

  /** Vocabulary and context of the current policy (0, 0 before any) and its version. */
  public SamplerInfo info() {
    LlamaConfig c = policies.config();
    return c == null ? new SamplerInfo(0, 0, -1)
        : new SamplerInfo(c.vocabSize(), c.maxPositionEmbeddings(), policies.currentVersion(),
            policies.currentEpoch());
  }

  /** {@link #submit(List, SamplingParams, GenerationJob.RolloutSink)} without a sink. */
  public GenerationJob submit(List<int[]> prompts, SamplingParams params) {
    return submit(prompts, params, (i, r) -> { });
  }

  /**
   * Validates and queues the prompts; prompt i is sampled with seed {@code params.seed() + i}.
   *
   * @throws IllegalArgumentException for no or an empty prompt, an id outside the vocabulary, a
   *     prompt with no room left in the context, more prompts than the queue holds, or
   *     max_new_tokens above the limit
   * @throws SamplerUnavailableException before the first policy is installed
   * @throws SamplerOverloadedException when the queue has no room for the prompts
   * @throws IllegalStateException after {@link #close()}
   */
  public GenerationJob submit(List<int[]> prompts, SamplingParams params,
      GenerationJob.RolloutSink sink) {
    LlamaConfig config = policies.config();
    if (config == null) {
      throw new SamplerUnavailableException("no policy has been installed yet");
    }
    RequestValidation.check(prompts, params, config, options);
    GenerationJob job = new GenerationJob(this, nextJobId.getAndIncrement(), prompts.size(), sink);
    List<Sequence> sequences = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      sequences.add(new Sequence(job, i, prompts.get(i).clone(), params.withSeed(params.seed() + i),
          config.maxPositionEmbeddings()));
    }
    notifyQueued(enqueue(sequences));
    return job;
  }

  /** Appends a job's prompts to the queue, all or none; returns the new depth. */
  private int enqueue(List<Sequence> sequences) {
    lock.lock();
    try {
      if (closed) {
        throw new IllegalStateException("the sampler is shutting down");
      }
      if (queue.size() + sequences.size() > options.maxQueuedSequences()) {
        throw new SamplerOverloadedException("sampler queue is full: " + queue.size() + " of "
            + options.maxQueuedSequences() + " prompts waiting and the request adds "
            + sequences.size() + "; retry later or on another replica");
      }
      queue.addAll(sequences);
      changed.signalAll();
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  private void notifyQueued(int depth) {
    for (Listener l : listeners) {
      try {
        l.onQueued(depth);
      } catch (RuntimeException e) { // the job is queued: a listener must not make it look failed
        LOG.warn("sampler engine listener {} failed", l, e);
      }
    }
  }

  /**
   * Submits and waits for every rollout.
   *
   * @throws IllegalArgumentException, SamplerUnavailableException, SamplerOverloadedException,
   *     IllegalStateException as {@link #submit}; a generation failure as thrown by the model
   */
  public List<Rollout> generate(List<int[]> prompts, SamplingParams params) {
    GenerationJob job = submit(prompts, params);
    try {
      return job.result().join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException re ? re : e;
    }
  }

  /** Holds admissions and decode steps until {@link #resume()}; a running step finishes. */
  public void pause() {
    setPaused(true);
  }

  public void resume() {
    setPaused(false);
  }

  /** Prompts waiting for a slot. */
  public int queuedSequences() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /** Slots occupied now. */
  public int activeSlots() {
    return runner.active();
  }

  /**
   * Refuses new jobs, serves every queued and active one (even when paused), stops the worker and
   * releases the policy. Idempotent.
   */
  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    try {
      worker.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    policies.removeListener(onInstall);
  }

  void cancel(GenerationJob job) {
    lock.lock();
    try {
      queue.removeIf(s -> s.job == job);
      changed.signalAll(); // the worker frees the job's slots before its next step
    } finally {
      lock.unlock();
    }
  }

  private void setPaused(boolean value) {
    lock.lock();
    try {
      paused = value;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private void signal() {
    lock.lock();
    try {
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private void runWorker() {
    try {
      while (awaitWork()) {
        runner.dropCancelled();
        Sequence next;
        while ((next = nextAdmission()) != null) {
          runner.admit(next);
        }
        runner.step();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      runner.close();
    }
  }

  /** Blocks until there is work; false once closed with nothing left. Frees a stale idle policy. */
  private boolean awaitWork() throws InterruptedException {
    lock.lock();
    try {
      while (true) {
        boolean pending = !queue.isEmpty() || runner.active() > 0;
        if (pending && (!paused || closed)) {
          return true;
        }
        if (!pending && closed) {
          return false;
        }
        if (!pending) {
          runner.releaseIfStale();
        }
        changed.await();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * The next prompt that may take a slot now, its slot reserved and its job pinned; null when no
   * slot is free, nothing is queued, or a newer version waits for the slots to drain.
   */
  private Sequence nextAdmission() {
    lock.lock();
    try {
      if (queue.isEmpty() || (paused && !closed) || !runner.hasFreeSlot()) {
        return null;
      }
      Sequence head = queue.peekFirst();
      if (!runner.prepare(head.job)) {
        return null;
      }
      return queue.pollFirst();
    } finally {
      lock.unlock();
    }
  }
}
