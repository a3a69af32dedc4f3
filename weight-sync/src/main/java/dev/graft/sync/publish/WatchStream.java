package dev.graft.sync.publish;

import dev.graft.proto.v1.PolicyVersionAnnouncement;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;

/**
 * One {@code WatchVersions} stream. Holds at most one unsent announcement, the newest: a reader
 * that is not ready skips intermediate versions instead of queueing them. Versions sent strictly
 * increase.
 */
final class WatchStream {

  private final ServerCallStreamObserver<PolicyVersionAnnouncement> call;
  private long newestOffered;
  private PolicyVersionAnnouncement pending;
  private WeightPublisher.Registration registration;
  private boolean done;

  /**
   * @param afterVersion announce only versions greater than this
   */
  WatchStream(ServerCallStreamObserver<PolicyVersionAnnouncement> call, long afterVersion) {
    this.call = call;
    this.newestOffered = Math.max(-1, afterVersion);
  }

  synchronized void registered(WeightPublisher.Registration r) {
    registration = r;
    if (done) {
      r.close();
    }
  }

  /** Queues {@code a} when it is newer than anything offered before, then sends if ready. */
  synchronized void offer(PolicyVersionAnnouncement a) {
    if (done || a.getVersion() <= newestOffered) {
      return;
    }
    newestOffered = a.getVersion();
    pending = a;
    drain();
  }

  synchronized void drain() {
    if (!done && pending != null && call.isReady()) {
      call.onNext(pending);
      pending = null;
    }
  }

  synchronized void end(Status status) {
    if (!done) {
      stop();
      call.onError(status.asRuntimeException());
    }
  }

  synchronized void cancelled() {
    stop();
  }

  private void stop() {
    done = true;
    pending = null;
    if (registration != null) {
      registration.close();
    }
  }
}
