package dev.graft.sampler.server;

/** The sampler's queue is full; retry later or on another replica (gRPC RESOURCE_EXHAUSTED). */
public final class SamplerOverloadedException extends RuntimeException {

  public SamplerOverloadedException(String message) {
    super(message);
  }
}
