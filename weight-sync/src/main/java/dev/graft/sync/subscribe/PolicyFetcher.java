package dev.graft.sync.subscribe;

import dev.graft.proto.v1.FetchWeightsRequest;
import dev.graft.proto.v1.GetManifestRequest;
import dev.graft.proto.v1.PolicyServiceGrpc;
import dev.graft.proto.v1.WeightChunk;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.VersionManifest;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/**
 * Downloads and verifies one policy version: its manifest, then every tensor in chunks. Every
 * failure comes out as a {@link SyncRejectedException} with its reason; nothing is installed here.
 */
final class PolicyFetcher {

  /** A verified version and the tensor bytes that came over the wire. */
  record Fetched(PolicyUpdate update, long bytes) {}

  private final Channel channel;
  private final Duration manifestDeadline;
  private final Duration fetchDeadline;

  PolicyFetcher(Channel channel, Duration manifestDeadline, Duration fetchDeadline) {
    this.channel = channel;
    this.manifestDeadline = manifestDeadline;
    this.fetchDeadline = fetchDeadline;
  }

  /**
   * Fetches {@code version} of {@code epoch} inside {@code context}; cancelling the context aborts
   * the download. The context is cancelled on return, so no call outlives this method.
   *
   * @throws SyncRejectedException for any failure of transfer or verification, VERSION_GONE when
   *     the trainer no longer publishes {@code epoch}
   */
  Fetched fetch(long epoch, long version, Context.CancellableContext context) {
    Context previous = context.attach();
    try {
      VersionManifest manifest = ManifestReader.read(call(version, "GetManifest", () ->
          PolicyServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(manifestDeadline.toNanos(), TimeUnit.NANOSECONDS)
              .getManifest(GetManifestRequest.newBuilder().setVersion(version).setEpoch(epoch).build())),
          version);
      if (manifest.epoch() != epoch) {
        throw new SyncRejectedException(RejectReason.MALFORMED_MANIFEST, "the manifest of version "
            + version + " is of epoch " + Long.toUnsignedString(manifest.epoch()) + ", not the announced "
            + Long.toUnsignedString(epoch));
      }
      WeightAssembler assembler = new WeightAssembler(manifest);
      call(version, "FetchWeights", () -> {
        Iterator<WeightChunk> chunks = PolicyServiceGrpc.newBlockingStub(channel)
            .withDeadlineAfter(fetchDeadline.toNanos(), TimeUnit.NANOSECONDS)
            .fetchWeights(FetchWeightsRequest.newBuilder().setVersion(version).setEpoch(epoch).build());
        while (chunks.hasNext()) {
          WeightChunk c = chunks.next();
          assembler.accept(c.getVersion(), c.getTensorName(), c.getOffset(),
              c.getData().asReadOnlyByteBuffer(), c.getLast());
        }
        return null;
      });
      return new Fetched(assembler.finish(), assembler.bytesReceived());
    } finally {
      context.detach(previous);
      context.cancel(null);
    }
  }

  private interface Call<T> {
    T run();
  }

  /** Runs one RPC; a failed call becomes VERSION_GONE (not kept / not published) or TRANSPORT. */
  private static <T> T call(long version, String rpc, Call<T> call) {
    try {
      return call.run();
    } catch (StatusRuntimeException e) {
      Status s = e.getStatus();
      RejectReason reason = s.getCode() == Status.Code.FAILED_PRECONDITION
          || s.getCode() == Status.Code.NOT_FOUND ? RejectReason.VERSION_GONE : RejectReason.TRANSPORT;
      throw new SyncRejectedException(reason, rpc + " for version " + version + " failed: "
          + s.getCode() + (s.getDescription() == null ? "" : " (" + s.getDescription() + ")"), e);
    }
  }
}
