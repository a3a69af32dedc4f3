package dev.graft.teacher.server;

import dev.graft.data.TokenBatch;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherInfo;
import dev.graft.teacher.TeacherLimits;
import dev.graft.teacher.TeacherScorer;
import dev.graft.teacher.TeacherUnavailableException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Dynamic batching in front of a {@link LocalTeacher}: concurrent requests queue up and one
 * worker thread runs them together, stacking their rows (padded on the right to the longest T)
 * into shared forward passes of at most {@code maxBatchTokens} padded tokens, in arrival order.
 *
 * <p>Bounded: a request reserves its B·T tokens on {@link #submit} and releases them when its
 * {@link Ticket} closes; when the reservation would exceed {@code capacityTokens}, submit fails at
 * once with {@link TeacherOverloadedException}. {@link #pause()} holds the queue (for draining
 * and for tests that need several requests queued before the next batch forms).
 *
 * <p>Longer than most classes on purpose: admission (capacity tickets), the queue and the
 * batching thread share one lock and one condition; the forward pass itself is
 * {@link LocalTeacher}'s.
 */
public final class ScoreBatcher implements TeacherScorer {

  /**
   * @param capacityTokens the most tokens (queued plus running plus not yet released) at once
   * @param maxBatchTokens the most padded tokens (rows · longest T) in one forward pass; a
   *     single request is always admitted whole
   * @param maxWait how long the worker waits for more requests once one is queued; zero batches
   *     only what is already queued
   */
  public record Options(long capacityTokens, int maxBatchTokens, Duration maxWait) {
    public Options {
      if (capacityTokens < 1 || maxBatchTokens < 1) {
        throw new IllegalArgumentException("capacity_tokens (" + capacityTokens
            + ") and max_batch_tokens (" + maxBatchTokens + ") must be >= 1");
      }
      if (maxWait == null || maxWait.isNegative()) {
        throw new IllegalArgumentException("max_wait (" + maxWait + ") must be >= 0");
      }
    }

    /** Capacity of four full requests, batches of one full request, no waiting. */
    public static Options defaults(TeacherLimits limits) {
      return new Options(4L * limits.maxTokensPerRequest(), limits.maxTokensPerRequest(),
          Duration.ZERO);
    }
  }

  /** What one shared forward pass held; padded tokens include the right padding. */
  public record BatchStats(int requests, int sequences, long tokens, long paddedTokens) {}

  /** Observes the batcher; called on the submitting thread or the worker thread. */
  public interface Listener {
    /** A request joined the queue, which now holds {@code depth} requests. */
    default void onQueued(int depth) {}

    /** A forward pass finished; called before its requests' results complete. */
    default void onBatch(BatchStats stats) {}
  }

  private final LocalTeacher teacher;
  private final Options options;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final Deque<Ticket> queue = new ArrayDeque<>();
  private final Thread worker;
  private long reservedTokens;
  private int reservedRequests;
  private boolean paused;
  private boolean closed;

  /** Starts the worker thread. The teacher stays owned by the caller. */
  public ScoreBatcher(LocalTeacher teacher, Options options) {
    if (options.capacityTokens() < teacher.limits().maxTokensPerRequest()) {
      throw new IllegalArgumentException("capacity_tokens (" + options.capacityTokens()
          + ") must be >= max_tokens_per_request (" + teacher.limits().maxTokensPerRequest()
          + "), or a valid request could never be served");
    }
    this.teacher = teacher;
    this.options = options;
    this.worker = new Thread(this::runWorker, "teacher-batcher");
    worker.setDaemon(true);
    worker.start();
  }

  /** The teacher this batcher feeds. */
  LocalTeacher teacher() {
    return teacher;
  }

  public void addListener(Listener listener) {
    listeners.add(listener);
  }

  @Override
  public TeacherInfo info() {
    return teacher.info();
  }

  /**
   * Validates and queues a request, reserving its tokens until the ticket closes.
   *
   * @throws IllegalArgumentException for an invalid request (see {@link TeacherLimits#validate})
   * @throws TeacherOverloadedException when the reservation would exceed the capacity
   * @throws IllegalStateException after {@link #close()}
   */
  public Ticket submit(TokenBatch tokens, ScoreRequest request) {
    teacher.validate(tokens, request);
    Ticket ticket = new Ticket(new LocalTeacher.Job(tokens, request));
    int depth;
    lock.lock();
    try {
      if (closed) {
        throw new IllegalStateException("the teacher is shutting down");
      }
      if (reservedTokens + ticket.tokens > options.capacityTokens()) {
        throw new TeacherOverloadedException("teacher is at capacity: " + reservedTokens + " of "
            + options.capacityTokens() + " in-flight tokens in use and the request needs "
            + ticket.tokens + "; retry later or on another replica");
      }
      reservedTokens += ticket.tokens;
      reservedRequests++;
      queue.addLast(ticket);
      depth = queue.size();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    listeners.forEach(l -> l.onQueued(depth));
    return ticket;
  }

  /** Submits, waits for the result and releases the reservation. */
  @Override
  public Scores score(TokenBatch tokens, ScoreRequest request) {
    try (Ticket ticket = submit(tokens, request)) {
      return ticket.result().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TeacherUnavailableException("interrupted while waiting for the teacher", e);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException re ? re
          : new IllegalStateException("scoring failed", e.getCause());
    }
  }

  /** Holds queued requests until {@link #resume()}; a running forward pass finishes. */
  public void pause() {
    setPaused(true);
  }

  public void resume() {
    setPaused(false);
  }

  /** Requests queued and not yet taken into a forward pass. */
  public int queued() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /** Requests admitted whose tickets are not yet closed: queued, in a forward pass or streaming out. */
  public int inFlightRequests() {
    lock.lock();
    try {
      return reservedRequests;
    } finally {
      lock.unlock();
    }
  }

  /** Requests waiting for a forward pass. */
  public int queuedRequests() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /** Tokens reserved by tickets not yet closed. */
  public long reservedTokens() {
    lock.lock();
    try {
      return reservedTokens;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Refuses new requests, serves every queued one (even when paused) and stops the worker. The
   * teacher is not closed.
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

  private void runWorker() {
    while (true) {
      List<Ticket> batch;
      try {
        batch = nextBatch();
      } catch (InterruptedException e) {
        return;
      }
      if (batch == null) {
        return;
      }
      runBatch(batch);
    }
  }

  /** Blocks until a batch may run; null once closed and drained. */
  private List<Ticket> nextBatch() throws InterruptedException {
    lock.lock();
    try {
      while (true) {
        queue.removeIf(t -> t.result.isDone()); // cancelled while queued
        if (!queue.isEmpty() && (!paused || closed)) {
          break;
        }
        if (closed) {
          return null;
        }
        changed.await();
      }
      long waitNanos = options.maxWait().toNanos();
      long deadline = System.nanoTime() + waitNanos;
      while (waitNanos > 0 && !closed && queuedTokens() < options.maxBatchTokens()) {
        waitNanos = changed.awaitNanos(deadline - System.nanoTime());
      }
      return take();
    } finally {
      lock.unlock();
    }
  }

  private long queuedTokens() {
    return queue.stream().mapToLong(t -> t.tokens).sum();
  }

  /**
   * The oldest request, then following ones while the padded batch stays within budget. A
   * hidden-states request runs alone: its forward pass stops after its last requested layer and
   * computes no logits.
   */
  private List<Ticket> take() {
    List<Ticket> batch = new ArrayList<>();
    batch.add(queue.pollFirst());
    if (batch.get(0).job.request() instanceof ScoreRequest.HiddenStates) {
      return batch;
    }
    long rows = batch.get(0).job.rows();
    long maxT = batch.get(0).job.length();
    while (!queue.isEmpty()) {
      LocalTeacher.Job next = queue.peekFirst().job;
      if (next.request() instanceof ScoreRequest.HiddenStates) {
        break;
      }
      long padded = (rows + next.rows()) * Math.max(maxT, next.length());
      if (padded > options.maxBatchTokens()) {
        break;
      }
      batch.add(queue.pollFirst());
      rows += next.rows();
      maxT = Math.max(maxT, next.length());
    }
    return batch;
  }

  private void runBatch(List<Ticket> batch) {
    List<LocalTeacher.Job> jobs = batch.stream().map(t -> t.job).toList();
    try {
      List<Scores> results = teacher.scoreAll(jobs);
      int rows = jobs.stream().mapToInt(LocalTeacher.Job::rows).sum();
      int maxT = jobs.stream().mapToInt(LocalTeacher.Job::length).max().orElseThrow();
      long tokens = batch.stream().mapToLong(t -> t.tokens).sum();
      BatchStats stats = new BatchStats(batch.size(), rows, tokens, (long) rows * maxT);
      listeners.forEach(l -> l.onBatch(stats));
      for (int i = 0; i < batch.size(); i++) {
        batch.get(i).result.complete(results.get(i));
      }
    } catch (RuntimeException e) {
      batch.forEach(t -> t.result.completeExceptionally(e));
    }
  }

  private void release(long tokens) {
    lock.lock();
    try {
      reservedTokens -= tokens;
      reservedRequests--;
    } finally {
      lock.unlock();
    }
  }

  /**
   * One queued request: its future result and its token reservation. Closing releases the
   * reservation (once) and cancels the request if it has not run yet.
   */
  public final class Ticket implements AutoCloseable {
    private final LocalTeacher.Job job;
    private final long tokens;
    private final CompletableFuture<Scores> result = new CompletableFuture<>();
    private final AtomicBoolean released = new AtomicBoolean();

    private Ticket(LocalTeacher.Job job) {
      this.job = job;
      this.tokens = (long) job.rows() * job.length();
    }

    /** Completes with the scores, or exceptionally if the forward pass failed. */
    public CompletableFuture<Scores> result() {
      return result;
    }

    /** B·T of the request. */
    public long tokens() {
      return tokens;
    }

    @Override
    public void close() {
      if (released.compareAndSet(false, true)) {
        result.cancel(false);
        release(tokens);
      }
    }
  }
}
