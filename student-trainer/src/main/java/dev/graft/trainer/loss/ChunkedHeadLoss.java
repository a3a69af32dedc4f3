package dev.graft.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.graft.model.Scalars;
import dev.graft.model.VocabBudget;
import java.util.function.UnaryOperator;

/**
 * The language-model head and a loss over the vocabulary, forward and backward, a chunk of
 * positions at a time, so that only (chunk × V) logits and their loss temporaries exist at once
 * however large the batch: the memory over the vocabulary is set by a {@link VocabBudget}.
 *
 * <p>How the gradient stays the same: the final hidden states h (positions × hidden) are computed
 * once with the trunk's graph. Each chunk's head and loss run on a detached copy h_c of its rows
 * that requires a gradient; backpropagating the chunk's loss accumulates the head's weight
 * gradients and leaves ∂L/∂h_c. After the last chunk, one backward pass of Σ h ⊙ g, with g the
 * concatenated ∂L/∂h_c held constant, sends exactly ∂L/∂h through the trunk (its gradient wrt h
 * is g). Gradients of a tied embedding accumulate from both passes. Only the order of
 * floating-point sums changes (a test holds every parameter's gradient to the unchunked one).
 * When every position fits in one chunk this is the plain forward and backward.
 */
public final class ChunkedHeadLoss {

  /**
   * (chunk × V) float32 buffers a chunk holds at its peak: logits, scaled logits, log-probs and the
   * divergence's terms, and their gradients during backward.
   */
  public static final int LIVE_COPIES = 8;

  /** The loss of positions [from, to) of the flattened batch. */
  @FunctionalInterface
  public interface ChunkLoss {
    /**
     * @param logits (1, to − from, V) the head's logits for the chunk
     * @return a scalar: the summed loss of the chunk's positions
     */
    NDArray sum(NDArray logits, int from, int to);
  }

  private ChunkedHeadLoss() {}

  /** Positions per chunk for a vocabulary of {@code vocab} within {@code budget}. */
  public static int chunkPositions(VocabBudget budget, int vocab) {
    return budget.positions(vocab, LIVE_COPIES);
  }

  /**
   * Computes the summed loss over every position and backpropagates {@code sum / normaliser}
   * through the head and the trunk.
   *
   * @param gc the collector recording {@code hidden}'s graph
   * @param hidden (B, T, hidden) final hidden states, differentiable wrt the trunk
   * @param head (1, c, hidden) → (1, c, V) logits
   * @param loss the summed loss of a chunk of the flattened (B·T) positions
   * @param normaliser what the sum is divided by before backward (the batch's token count)
   * @param chunk positions per chunk, &ge; 1
   * @return the summed (not normalised) loss
   */
  public static double backward(GradientCollector gc, NDArray hidden, UnaryOperator<NDArray> head,
      ChunkLoss loss, float normaliser, int chunk) {
    if (chunk < 1) {
      throw new IllegalArgumentException("positions per chunk (" + chunk + ") must be >= 1");
    }
    long positions = hidden.getShape().get(0) * hidden.getShape().get(1);
    NDArray flat = hidden.reshape(1, positions, -1); // (1, B·T, hidden)
    int n = Math.toIntExact(positions);
    if (chunk >= n) {
      NDArray sum = loss.sum(head.apply(flat), 0, n);
      gc.backward(Scalars.div(sum, normaliser));
      return sum.getFloat();
    }
    NDManager outer = hidden.getManager();
    NDArray detached = flat.stopGradient();
    NDList grads = new NDList();
    double total = 0;
    for (int p0 = 0; p0 < n; p0 += chunk) {
      int p1 = Math.min(n, p0 + chunk);
      try (NDManager m = outer.newSubManager()) {
        NDArray h = detached.get(":, {}:{}, :", p0, p1).duplicate(); // (1, c, hidden), a leaf
        h.attach(m); // the chunk's logits, loss and their gradients die with m
        h.setRequiresGradient(true);
        NDArray sum = loss.sum(head.apply(h), p0, p1); // head (1, c, V), then a scalar
        gc.backward(Scalars.div(sum, normaliser));
        total += sum.getFloat();
        NDArray g = h.getGradient().duplicate(); // ∂(sum / normaliser)/∂h_c, (1, c, hidden)
        g.attach(outer);
        grads.add(g);
      }
    }
    NDArray g = NDArrays.concat(grads, 1); // (1, B·T, hidden), no gradient
    gc.backward(flat.mul(g).sum()); // sends g through the trunk
    return total;
  }
}
