package dev.graft.kube.discovery;

import java.net.InetSocketAddress;

/**
 * Decides whether a replica that just became ready may get work, before the resolver hands it to
 * the channel (for teachers: does it serve the same model and tokenizer). Called off the
 * informer's thread; may block on a call to the replica.
 */
@FunctionalInterface
public interface ReplicaCheck {

  /** Admits every replica. */
  ReplicaCheck NONE = address -> Verdict.admit();

  Verdict check(InetSocketAddress address);

  /**
   * As {@link #check(InetSocketAddress)}, told the authority the channel's calls carry
   * ({@code service.namespace.svc}): a check that connects under TLS verifies the replica's
   * certificate against that name, not against the replica's address.
   */
  default Verdict check(InetSocketAddress address, String authority) {
    return check(address);
  }

  /**
   * The outcome of a check.
   *
   * @param kind admitted, refused (stays out until it leaves the ready set) or retry (could not
   *     tell yet, for example the replica did not answer; asked again shortly)
   * @param reason why, for a refusal or a retry
   */
  record Verdict(Kind kind, String reason) {

    public enum Kind { ADMIT, REFUSE, RETRY }

    public static Verdict admit() {
      return new Verdict(Kind.ADMIT, "");
    }

    public static Verdict refuse(String reason) {
      return new Verdict(Kind.REFUSE, reason);
    }

    public static Verdict retry(String reason) {
      return new Verdict(Kind.RETRY, reason);
    }
  }
}
