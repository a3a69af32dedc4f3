package dev.graft.sampler.server;

import dev.graft.sampler.Rollout;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One submitted batch of prompts: completes with every rollout in prompt order once the last one
 * finishes. Every rollout of a job comes from one policy version. Thread-safe.
 */
public final class GenerationJob {

  /** Receives each rollout as soon as it finishes, on the engine's thread; must not block. */
  @FunctionalInterface
  public interface RolloutSink {
    void accept(int index, Rollout rollout);
  }

  private final GenerationEngine engine;
  private final long id;
  private final Rollout[] rollouts;
  private final RolloutSink sink;
  private final CompletableFuture<List<Rollout>> result = new CompletableFuture<>();
  private int remaining;
  volatile boolean cancelled;
  long version = -1; // pinned by the engine thread when the first prompt takes a slot

  GenerationJob(GenerationEngine engine, long id, int size, RolloutSink sink) {
    this.engine = engine;
    this.id = id;
    this.rollouts = new Rollout[size];
    this.remaining = size;
    this.sink = sink;
  }

  /** Unique per engine, increasing in submission order. */
  public long id() {
    return id;
  }

  /** Number of prompts. */
  public int size() {
    return rollouts.length;
  }

  /** Completes with the rollouts in prompt order, or exceptionally if generation failed. */
  public CompletableFuture<List<Rollout>> result() {
    return result;
  }

  /** Drops the job's queued prompts and frees its slots before the next decode step. */
  public void cancel() {
    cancelled = true;
    result.cancel(false);
    engine.cancel(this);
  }

  void complete(int index, Rollout rollout) {
    boolean last;
    synchronized (this) {
      rollouts[index] = rollout;
      last = --remaining == 0;
    }
    try {
      sink.accept(index, rollout);
    } catch (RuntimeException e) {
      fail(e);
      return;
    }
    if (last) {
      result.complete(List.copyOf(Arrays.asList(rollouts)));
    }
  }

  void fail(Throwable error) {
    cancelled = true;
    result.completeExceptionally(error);
    engine.cancel(this);
  }
}
