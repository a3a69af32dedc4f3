package dev.graft.model;

/**
 * One layer's part of a {@link DecodeState}: what its mixer keeps about the tokens already
 * decoded in each slot. Each mixer type defines its own kind (attention: {@link KvCache}).
 */
public interface LayerCache {

  /** Bytes this cache holds per slot when full, for memory reports. */
  long bytesPerSlot();
}
