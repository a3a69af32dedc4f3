package dev.graft.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * What a {@link Linear} layer multiplies by instead of its stored weight, for example the weight
 * fake-quantized to a lower bit width. Training and decoding both go through it.
 */
public interface WeightTransform {

  /**
   * The weight the layer computes with, as new arrays under {@code manager} (or {@code weight}
   * itself when it is unchanged).
   */
  NDArray apply(NDArray weight, NDManager manager);

  /**
   * A value that differs whenever {@link #apply} would give another result for the same weight
   * array (e.g. after α moved), so that derived weights can be cached against it.
   */
  Object state();
}
