package dev.graft.sampler;

/** No sampler could answer: transport failure, over capacity after retries, no policy yet, shut down. */
public final class SamplerUnavailableException extends RuntimeException {

  public SamplerUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }

  public SamplerUnavailableException(String message) {
    super(message);
  }
}
