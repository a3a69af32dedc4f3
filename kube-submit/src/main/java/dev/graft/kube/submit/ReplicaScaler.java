package dev.graft.kube.submit;

/** Reads and sets a workload's replica count. */
public interface ReplicaScaler {

  /** What the scaler acts on, for messages, e.g. {@code deployment ns/run-sampler}. */
  String target();

  /**
   * @throws Forbidden when the caller may not read or change the scale
   */
  int replicas();

  /**
   * @throws Forbidden when the caller may not read or change the scale
   */
  void scale(int replicas);

  /** The API server refused (HTTP 403): the caller's account lacks the permission. */
  final class Forbidden extends RuntimeException {
    public Forbidden(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
