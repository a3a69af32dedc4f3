package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.SparseFormat;

/** Token embedding: {@code weight} of shape (vocab, hidden); ids (int64) select rows. */
public final class Embedding extends Module {

  public Embedding(NDArray weight) {
    registerParameter("weight", weight);
  }

  public NDArray weight() {
    return param("weight");
  }

  public NDArray forward(NDArray ids) {
    return ids.getNDArrayInternal().embedding(ids, weight(), SparseFormat.DENSE).singletonOrThrow();
  }
}
