package dev.graft.sync.subscribe;

import dev.graft.proto.v1.PolicyServiceGrpc;
import dev.graft.proto.v1.PolicyVersionAnnouncement;
import dev.graft.proto.v1.WatchVersionsRequest;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One {@code WatchVersions} stream from a sampler to the trainer. Reports each announced version
 * and how the stream ended, on gRPC threads; the owner drops a watch it has replaced and ignores
 * its late events by identity.
 */
final class VersionWatch
    implements ClientResponseObserver<WatchVersionsRequest, PolicyVersionAnnouncement> {

  /** A version of {@code epoch} was announced; {@code first}: the first of this stream. */
  interface Announced {
    void on(VersionWatch watch, long epoch, long version, boolean first);
  }

  /** The stream ended (it never ends OK: a completion reads as UNAVAILABLE). */
  interface Ended {
    void on(VersionWatch watch, Status status);
  }

  private final Announced announced;
  private final Ended ended;
  private ClientCallStreamObserver<WatchVersionsRequest> call;
  private boolean received;
  private boolean started;
  private boolean cancelled;

  /** A watch that is not yet open; {@link #open} starts it. */
  VersionWatch(Announced announced, Ended ended) {
    this.announced = announced;
    this.ended = ended;
  }

  /** Starts the stream for versions after {@code afterVersion}, with a renewal deadline. */
  void open(Channel channel, long afterVersion, Duration renewal) {
    PolicyServiceGrpc.newStub(channel)
        .withDeadlineAfter(renewal.toNanos(), TimeUnit.NANOSECONDS)
        .watchVersions(WatchVersionsRequest.newBuilder().setAfterVersion(afterVersion).build(), this);
    synchronized (this) {
      // A call cancelled before it has sent its request would make the stub throw: cancel it now.
      started = true;
      if (cancelled) {
        call.cancel("the weight subscriber is closed", null);
      }
    }
  }

  /** Cancels the stream (now, or as soon as it has started). */
  synchronized void cancel() {
    cancelled = true;
    if (started) {
      call.cancel("the weight subscriber is closed", null);
    }
  }

  @Override
  public synchronized void beforeStart(ClientCallStreamObserver<WatchVersionsRequest> requestStream) {
    call = requestStream;
  }

  @Override
  public void onNext(PolicyVersionAnnouncement a) {
    boolean first;
    synchronized (this) {
      first = !received;
      received = true;
    }
    announced.on(this, a.getEpoch(), a.getVersion(), first);
  }

  @Override
  public void onError(Throwable t) {
    ended.on(this, Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    ended.on(this, Status.UNAVAILABLE.withDescription("the trainer ended the watch stream"));
  }
}
