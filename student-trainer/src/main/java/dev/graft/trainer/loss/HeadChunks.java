package dev.graft.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.VocabBudget;

/**
 * Runs work over the vocabulary (the head's logits and what is computed from them) a chunk of
 * positions at a time, without gradients: the evaluations' counterpart of {@link ChunkedHeadLoss}.
 * Each chunk's arrays live on a sub-manager closed before the next chunk, so at most (chunk × V)
 * buffers exist at once.
 */
public final class HeadChunks {

  /** (chunk × V) float32 buffers an evaluation holds at once: logits, both log-distributions, terms. */
  public static final int LIVE_COPIES = 6;

  /** The work on positions [from, to) of the flattened (B·T) grid. */
  @FunctionalInterface
  public interface Body {
    /** @param hidden (1, to − from, hidden) final hidden states of the chunk */
    void accept(NDArray hidden, int from, int to);
  }

  private HeadChunks() {}

  /** Positions per chunk for a vocabulary of {@code vocab} within {@code budget}. */
  public static int chunkPositions(VocabBudget budget, int vocab) {
    return budget.positions(vocab, LIVE_COPIES);
  }

  /**
   * Calls {@code body} on consecutive chunks of {@code chunk} positions of {@code hidden}.
   *
   * @param hidden (B, T, hidden) final hidden states
   */
  public static void forEach(NDArray hidden, int chunk, Body body) {
    if (chunk < 1) {
      throw new IllegalArgumentException("positions per chunk (" + chunk + ") must be >= 1");
    }
    long positions = hidden.getShape().get(0) * hidden.getShape().get(1);
    int n = Math.toIntExact(positions);
    NDArray flat = hidden.reshape(1, positions, -1); // (1, B·T, hidden)
    for (int p0 = 0; p0 < n; p0 += chunk) {
      int p1 = Math.min(n, p0 + chunk);
      try (NDManager m = hidden.getManager().newSubManager()) {
        NDArray h = flat.get(":, {}:{}, :", p0, p1); // (1, c, hidden)
        h.attach(m);
        body.accept(h, p0, p1);
      }
    }
  }
}
