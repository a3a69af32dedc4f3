package dev.graft.sampler.server;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.data.TokenBatch;
import dev.graft.model.DecodeState;
import dev.graft.model.LlamaModel;
import dev.graft.sampler.Rollout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine thread's side of continuous batching: the slots, the running policy version and
 * the model's {@link DecodeState} for it. The model does every piece of arithmetic (prefill, a
 * batched decode step with each slot at its own position); this class only schedules slots and
 * samples. Every method runs on the engine's worker thread (some while it holds the engine
 * lock); only {@link #active()} is read from elsewhere.
 */
final class SlotRunner implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SlotRunner.class);

  private final PolicyHolder policies;
  private final Sequence[] slots;
  private final List<GenerationEngine.Listener> listeners;
  private volatile int active;
  private PolicyHolder.Policy running; // null until the first admission, or after a release
  private DecodeState decoding;

  SlotRunner(PolicyHolder policies, int slots, List<GenerationEngine.Listener> listeners) {
    this.policies = policies;
    this.slots = new Sequence[slots];
    this.listeners = listeners;
  }

  int active() {
    return active;
  }

  boolean hasFreeSlot() {
    return active < slots.length;
  }

  /**
   * Whether {@code job}'s next prompt may take a slot now. An unpinned job is pinned to the
   * running version, after switching to the newest version if no slot is occupied; while a
   * newer version waits for occupied slots to drain, unpinned jobs wait.
   */
  boolean prepare(GenerationJob job) {
    if (job.version >= 0) {
      if (running != null && running.version() == job.version) {
        return true;
      }
      if (active == 0) { // cannot happen: a pinned job's prompts are admitted before any switch
        job.fail(new IllegalStateException("policy version " + job.version + " is gone"));
      }
      return false;
    }
    if (running == null || !policies.isCurrent(running)) {
      if (active > 0) {
        return false;
      }
      try {
        switchToCurrent();
      } catch (RuntimeException e) { // the holder was closed: nothing to serve this job with
        job.fail(e);
        return false;
      }
    }
    job.version = running.version();
    return true;
  }

  /** Puts {@code seq} in a free slot, prefills it and samples its first token. */
  void admit(Sequence seq) {
    int slot = 0;
    while (slots[slot] != null) {
      slot++;
    }
    slots[slot] = seq;
    seq.slot = slot;
    active++;
    int at = slot;
    tell(l -> l.onAdmitted(seq.job.id(), seq.index, at));
    try {
      Rollout.Finish finish = seq.accept(prefill(slot, seq.prompt));
      tell(l -> l.onTokens(1));
      if (finish != null) {
        finish(seq, finish);
      }
    } catch (RuntimeException e) {
      free(seq);
      seq.job.fail(e);
    }
  }

  /** One batched decode step over every occupied slot; nothing when all are free. */
  void step() {
    List<Sequence> batch = new ArrayList<>();
    for (Sequence s : slots) {
      if (s != null) {
        batch.add(s);
      }
    }
    if (batch.isEmpty()) {
      return;
    }
    int b = batch.size();
    int[] ids = new int[b];
    int[] tokens = new int[b];
    int[] positions = new int[b];
    for (int i = 0; i < b; i++) {
      Sequence s = batch.get(i);
      ids[i] = s.slot;
      tokens[i] = s.lastToken();
      positions[i] = s.length() - 1;
    }
    float[][] logits;
    try {
      logits = nextLogits(ids, tokens, positions); // (B, V)
    } catch (RuntimeException e) {
      batch.forEach(this::free);
      batch.forEach(s -> s.job.fail(e));
      return;
    }
    Rollout.Finish[] finished = new Rollout.Finish[b];
    for (int i = 0; i < b; i++) {
      finished[i] = batch.get(i).accept(logits[i]);
    }
    tell(l -> l.onStep(b)); // before any job completes, so metrics are never behind
    tell(l -> l.onTokens(b));
    for (int i = 0; i < b; i++) {
      if (finished[i] != null) {
        finish(batch.get(i), finished[i]);
      }
    }
  }

  /** Frees the slots of cancelled or failed jobs. */
  void dropCancelled() {
    for (Sequence s : slots) {
      if (s != null && s.job.cancelled) {
        free(s);
      }
    }
  }

  /** With every slot free, drops a policy that is no longer current, so its memory can go. */
  void releaseIfStale() {
    if (active == 0 && running != null && !policies.isCurrent(running)) {
      release();
    }
  }

  /** Runs a prompt into an emptied slot; the logits after its last token, (vocab). */
  private float[] prefill(int slot, int[] prompt) {
    decoding.reset(slot);
    LlamaModel model = running.model();
    try (NDManager m = model.manager().newSubManager()) {
      NDArray ids = new TokenBatch(1, prompt.length, prompt).toNDArray(m);
      return model.decodeNext(decoding, new int[] {slot}, ids, new int[] {prompt.length}).toFloatArray();
    }
  }

  /**
   * One batched step: slot {@code slotIds[b]} reads its latest token {@code tokens[b]}, which sits
   * at {@code positions[b]} (the slot's length − 1 as the sequence counts it; the model's state
   * holds every earlier token).
   */
  private float[][] nextLogits(int[] slotIds, int[] tokens, int[] positions) {
    for (int b = 0; b < slotIds.length; b++) {
      if (decoding.length(slotIds[b]) != positions[b]) {
        throw new IllegalStateException("slot " + slotIds[b] + " holds " + decoding.length(slotIds[b])
            + " tokens but its sequence is at position " + positions[b]);
      }
    }
    LlamaModel model = running.model();
    int b = slotIds.length;
    int[] ones = new int[b];
    Arrays.fill(ones, 1);
    try (NDManager m = model.manager().newSubManager()) {
      NDArray ids = new TokenBatch(b, 1, tokens).toNDArray(m);
      float[] flat = model.decodeNext(decoding, slotIds, ids, ones).toFloatArray(); // (B, V)
      int v = model.config().vocabSize();
      float[][] out = new float[b][];
      for (int i = 0; i < b; i++) {
        out[i] = Arrays.copyOfRange(flat, i * v, (i + 1) * v);
      }
      return out;
    }
  }

  private void switchToCurrent() {
    release();
    running = policies.acquire();
    try {
      LlamaModel model = running.model();
      decoding = model.newDecodeState(slots.length, model.config().maxPositionEmbeddings(), model.manager());
    } catch (RuntimeException e) {
      release();
      throw e;
    }
    long version = running.version();
    tell(l -> l.onPolicySwitch(version));
  }

  private void finish(Sequence seq, Rollout.Finish finish) {
    free(seq);
    Rollout rollout = seq.toRollout(running.epoch(), running.version(), finish);
    tell(l -> l.onFinished(seq.job.id(), seq.index, rollout));
    seq.job.complete(seq.index, rollout);
  }

  /** Notifies every listener; a failing listener must not stop the engine thread. */
  private void tell(Consumer<GenerationEngine.Listener> event) {
    for (GenerationEngine.Listener l : listeners) {
      try {
        event.accept(l);
      } catch (RuntimeException e) {
        LOG.warn("sampler engine listener {} failed", l, e);
      }
    }
  }

  private void free(Sequence seq) {
    if (seq.slot >= 0 && slots[seq.slot] == seq) {
      slots[seq.slot] = null;
      active--;
    }
    seq.slot = -1;
  }

  private void release() {
    if (decoding != null) {
      decoding.close();
      decoding = null;
    }
    if (running != null) {
      running.close();
      running = null;
    }
  }

  @Override
  public void close() {
    release();
  }
}
