package dev.graft.sampler;

/**
 * A request pinned to one model ({@link RolloutSource#generate(java.util.List, SamplingParams, String)})
 * reached a sampler that serves another: another fixed checkpoint, or a trainer's policy versions
 * ({@code FAILED_PRECONDITION} on the wire). A configuration error, never retried.
 */
public final class ModelMismatchException extends RuntimeException {

  public ModelMismatchException(String message, Throwable cause) {
    super(message, cause);
  }

  public ModelMismatchException(String message) {
    super(message);
  }

  /** The refusal of a sampler serving {@code served} ("" when it follows a trainer) asked for {@code wanted}. */
  public static ModelMismatchException of(String wanted, String served) {
    return new ModelMismatchException(describe(wanted, served));
  }

  /** Why a sampler serving {@code served} refuses a request for {@code wanted}, in words. */
  public static String describe(String wanted, String served) {
    return "the request asks for model " + wanted + " but this sampler "
        + (served.isEmpty() ? "follows a trainer's policy versions (no fixed model; start it with --model)"
            : "serves model " + served);
  }
}
