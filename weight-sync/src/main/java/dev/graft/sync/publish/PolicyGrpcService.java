package dev.graft.sync.publish;

import dev.graft.proto.v1.FetchWeightsRequest;
import dev.graft.proto.v1.GetManifestRequest;
import dev.graft.proto.v1.PolicyManifest;
import dev.graft.proto.v1.PolicyServiceGrpc;
import dev.graft.proto.v1.PolicyVersionAnnouncement;
import dev.graft.proto.v1.WatchVersionsRequest;
import dev.graft.proto.v1.WeightChunk;
import dev.graft.service.Descriptions;
import dev.graft.sync.PolicyProtos;
import dev.graft.sync.VersionManifest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code graft.v1.PolicyService} over a {@link WeightPublisher}: announces versions, serves
 * manifests and streams weights in budgeted chunks as fast as each client reads them (flow
 * control: a message is written only while the call is ready). Domain errors become statuses in
 * {@link #toStatus} and nowhere else.
 *
 * <p>The trainer hosts it on its own server; {@link PolicyServer} hosts it alone.
 * Watch streams never end by themselves, so call {@link #endWatches()} before a graceful server
 * shutdown.
 */
public final class PolicyGrpcService extends PolicyServiceGrpc.PolicyServiceImplBase {

  /** Default byte budget of one serialized {@code WeightChunk}: 1 MiB. */
  public static final int DEFAULT_CHUNK_BYTES = 1 << 20;

  private final WeightPublisher publisher;
  private final int chunkBytes;
  private final Set<WatchStream> watches = ConcurrentHashMap.newKeySet();
  private volatile boolean ended;

  /** Serves {@code publisher} with {@value #DEFAULT_CHUNK_BYTES}-byte chunks. */
  public PolicyGrpcService(WeightPublisher publisher) {
    this(publisher, DEFAULT_CHUNK_BYTES);
  }

  /**
   * @param chunkBytes the byte budget of one serialized chunk, in [1 KiB, 4 MiB]
   */
  public PolicyGrpcService(WeightPublisher publisher, int chunkBytes) {
    if (publisher == null) {
      throw new IllegalArgumentException("a publisher is required");
    }
    this.publisher = publisher;
    this.chunkBytes = WeightChunker.checkBudget(chunkBytes);
  }

  /** Ends every watch stream with UNAVAILABLE and refuses new ones. Idempotent. */
  public void endWatches() {
    ended = true;
    for (WatchStream w : watches) {
      w.end(Status.UNAVAILABLE.withDescription("the trainer is shutting down; reconnect later"));
      watches.remove(w);
    }
  }

  @Override
  public void watchVersions(WatchVersionsRequest request,
      StreamObserver<PolicyVersionAnnouncement> response) {
    if (ended) {
      response.onError(Status.UNAVAILABLE.withDescription("the trainer is shutting down")
          .asRuntimeException());
      return;
    }
    var call = (ServerCallStreamObserver<PolicyVersionAnnouncement>) response;
    // Versions of another run's epoch say nothing about this run's: announce the newest at once.
    long after = request.getAfterEpoch() == publisher.epoch() ? request.getAfterVersion() : -1;
    WatchStream stream = new WatchStream(call, after);
    call.setOnCancelHandler(() -> {
      stream.cancelled();
      watches.remove(stream);
    });
    call.setOnReadyHandler(stream::drain);
    watches.add(stream);
    stream.registered(publisher.watch(m -> stream.offer(announcement(m))));
    publisher.latest().ifPresent(m -> stream.offer(announcement(m)));
    if (ended) {
      endWatches(); // raced with endWatches(): end this stream too
    }
  }

  @Override
  public void getManifest(GetManifestRequest request, StreamObserver<PolicyManifest> response) {
    PolicyManifest manifest;
    try {
      manifest = PolicyProtos.toProto(publisher.manifest(request.getEpoch(), request.getVersion()));
    } catch (RuntimeException e) {
      response.onError(toStatus(e).asRuntimeException());
      return;
    }
    response.onNext(manifest);
    response.onCompleted();
  }

  @Override
  public void fetchWeights(FetchWeightsRequest request, StreamObserver<WeightChunk> response) {
    WeightChunker chunks;
    try {
      PublishedVersion version = publisher.find(request.getEpoch(), request.getVersion());
      chunks = new WeightChunker(version, names(version, request.getTensorNamesList()), chunkBytes);
    } catch (RuntimeException e) {
      response.onError(toStatus(e).asRuntimeException());
      return;
    }
    var call = (ServerCallStreamObserver<WeightChunk>) response;
    FetchStream stream = new FetchStream(call, chunks);
    call.setOnCancelHandler(stream::cancelled);
    call.setOnReadyHandler(stream::drain);
    stream.drain();
  }

  /**
   * The one place where domain failures become gRPC statuses; every description is bounded
   * ({@link Descriptions#bound}) so that it fits in the trailers whatever the request held.
   */
  static Status toStatus(Throwable e) {
    if (e instanceof UnknownVersionException u) {
      return (u.evicted() ? Status.FAILED_PRECONDITION : Status.NOT_FOUND)
          .withDescription(Descriptions.bound(u.getMessage()));
    }
    if (e instanceof IllegalArgumentException) {
      return Status.INVALID_ARGUMENT.withDescription(Descriptions.bound(e.getMessage()));
    }
    if (e instanceof IllegalStateException) {
      return Status.UNAVAILABLE.withDescription(Descriptions.bound(e.getMessage()));
    }
    return Status.INTERNAL.withDescription(Descriptions.bound("policy service failed: " + e)).withCause(e);
  }

  private PolicyVersionAnnouncement announcement(VersionManifest m) {
    List<Long> kept = publisher.keptVersions();
    return PolicyProtos.announcement(m, kept.isEmpty() ? m.version() : kept.get(0));
  }

  private static List<String> names(PublishedVersion version, List<String> requested) {
    if (requested.isEmpty()) {
      return List.copyOf(version.bytes().keySet());
    }
    Set<String> seen = new HashSet<>();
    for (String name : requested) {
      if (!version.bytes().containsKey(name)) {
        throw new IllegalArgumentException("version " + version.version()
            + " has no tensor named '" + Descriptions.value(name) + "'");
      }
      if (!seen.add(name)) {
        throw new IllegalArgumentException("tensor '" + Descriptions.value(name) + "' is requested twice");
      }
    }
    return requested;
  }

  /** One weight stream: writes chunks while the transport is ready, stops when cancelled. */
  private static final class FetchStream {
    private final ServerCallStreamObserver<WeightChunk> call;
    private final WeightChunker chunks;
    private boolean done;

    FetchStream(ServerCallStreamObserver<WeightChunk> call, WeightChunker chunks) {
      this.call = call;
      this.chunks = chunks;
    }

    synchronized void drain() {
      if (done) {
        return;
      }
      while (chunks.hasNext() && call.isReady()) {
        call.onNext(chunks.next());
      }
      if (!chunks.hasNext()) {
        done = true;
        call.onCompleted();
      }
    }

    synchronized void cancelled() {
      done = true;
    }
  }
}
