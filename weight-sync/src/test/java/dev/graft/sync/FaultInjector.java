package dev.graft.sync;

import dev.graft.proto.v1.PolicyManifest;
import dev.graft.proto.v1.PolicyServiceGrpc;
import dev.graft.proto.v1.WeightChunk;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * Sits in front of the real policy service and damages what it sends: rewrites manifests and
 * chunks (a null chunk is dropped), breaks weight streams after some chunks as a dropped
 * connection would, and drops open watch streams on demand.
 */
public final class FaultInjector implements ServerInterceptor {

  public volatile UnaryOperator<PolicyManifest> manifests = UnaryOperator.identity();
  public volatile UnaryOperator<WeightChunk> chunks = UnaryOperator.identity();
  /** Weight streams still to break; each breaks after {@link #breakAfterChunks} chunks. */
  public final AtomicInteger fetchesToBreak = new AtomicInteger();
  public volatile int breakAfterChunks = 3;
  public final AtomicInteger fetchesStarted = new AtomicInteger();
  private final List<FaultyCall<?, ?>> watches = new CopyOnWriteArrayList<>();

  /** Ends every open watch stream with UNAVAILABLE, as a broken connection would. */
  public void dropWatches() {
    for (FaultyCall<?, ?> w : watches) {
      w.fail(Status.UNAVAILABLE.withDescription("injected: watch connection dropped"));
    }
    watches.clear();
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
      ServerCallHandler<Q, A> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    FaultyCall<Q, A> faulty = new FaultyCall<>(call);
    if (method.equals(PolicyServiceGrpc.getWatchVersionsMethod().getFullMethodName())) {
      watches.add(faulty);
    } else if (method.equals(PolicyServiceGrpc.getFetchWeightsMethod().getFullMethodName())) {
      fetchesStarted.incrementAndGet();
      if (fetchesToBreak.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        faulty.breakAfter = breakAfterChunks;
      }
    }
    return next.startCall(faulty, headers);
  }

  private final class FaultyCall<Q, A> extends SimpleForwardingServerCall<Q, A> {
    int breakAfter = -1;
    private int sent;
    private boolean failed;

    FaultyCall(ServerCall<Q, A> delegate) {
      super(delegate);
    }

    @Override
    @SuppressWarnings("unchecked")
    public synchronized void sendMessage(A message) {
      if (failed) {
        return; // the "connection" is gone; the service may still be draining
      }
      Object out = message;
      if (message instanceof PolicyManifest m) {
        out = manifests.apply(m);
      } else if (message instanceof WeightChunk c) {
        if (breakAfter >= 0 && sent >= breakAfter) {
          fail(Status.UNAVAILABLE.withDescription("injected: connection dropped mid-download"));
          return;
        }
        out = chunks.apply(c);
      }
      if (out != null) {
        sent++;
        super.sendMessage((A) out);
      }
    }

    @Override
    public synchronized boolean isReady() {
      return failed || super.isReady();
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (!failed) {
        super.close(status, trailers);
      }
    }

    synchronized void fail(Status status) {
      if (!failed) {
        failed = true;
        super.close(status, new Metadata());
      }
    }
  }
}
