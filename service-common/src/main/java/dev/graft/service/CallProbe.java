package dev.graft.service;

import com.google.protobuf.MessageLite;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A server interceptor that watches what the services it wraps do on their calls: the messages
 * (and their serialized bytes) they write, whether they asked {@code isReady()} and were told no,
 * and when a call was closed or had its cancel handler run. It shows what a server wrote while a
 * client read nothing, which no counter of the service itself can; tests of flow control and
 * cancellation over real transports use it (wrap a service with
 * {@code ServerInterceptors.intercept(service, probe)}). It can lower a call's on-ready threshold
 * (gRPC queues 32 KiB per stream before {@code isReady()} turns false), so that a small answer
 * already shows whether a service waits for {@code onReady}. Thread-safe; counts over every call.
 */
public final class CallProbe implements ServerInterceptor {

  private final int onReadyThreshold;
  private final AtomicLong messages = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong lastBytes = new AtomicLong();
  private final CountDownLatch stalledOrClosed = new CountDownLatch(1);
  private final CountDownLatch closed = new CountDownLatch(1);
  private final CountDownLatch cancelled = new CountDownLatch(1);

  /** Leaves gRPC's on-ready threshold as it is. */
  public CallProbe() {
    this(0);
  }

  /**
   * @param onReadyThreshold the bytes a call may queue before {@code isReady()} turns false, set
   *     on every call; 0 leaves gRPC's default
   */
  public CallProbe(int onReadyThreshold) {
    if (onReadyThreshold < 0) {
      throw new IllegalArgumentException("on-ready threshold (" + onReadyThreshold + ") must be >= 0");
    }
    this.onReadyThreshold = onReadyThreshold;
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
      ServerCallHandler<Q, A> next) {
    if (onReadyThreshold > 0) {
      call.setOnReadyThreshold(onReadyThreshold);
    }
    ServerCall<Q, A> watched = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void sendMessage(A message) {
        int size = message instanceof MessageLite m ? m.getSerializedSize() : 0;
        synchronized (CallProbe.this) {
          messages.incrementAndGet();
          bytes.addAndGet(size);
          lastBytes.set(size);
        }
        super.sendMessage(message);
      }

      @Override
      public boolean isReady() {
        boolean ready = super.isReady();
        if (!ready) {
          stalledOrClosed.countDown();
        }
        return ready;
      }

      @Override
      public void close(Status status, Metadata trailers) {
        super.close(status, trailers);
        closed.countDown();
        stalledOrClosed.countDown();
      }
    };
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
        next.startCall(watched, headers)) {
      @Override
      public void onCancel() {
        super.onCancel(); // the service's cancel handler runs in here
        cancelled.countDown();
      }
    };
  }

  /** Messages written so far. */
  public long messages() {
    return messages.get();
  }

  /**
   * Serialized bytes of every message written so far but the last one. A service that writes
   * only while its call is ready keeps this under what the client's flow-control window and the
   * on-ready threshold let through while the client reads nothing, however large its last
   * message.
   */
  public synchronized long bytesBeforeLast() {
    return bytes.get() - lastBytes.get();
  }

  /** Whether a call was closed (completed or failed by the service). */
  public boolean closed() {
    return closed.getCount() == 0;
  }

  /**
   * Waits until a service asked {@code isReady()} and was told no, or closed a call; false on
   * timeout.
   */
  public boolean awaitStalledOrClosed(Duration timeout) throws InterruptedException {
    return stalledOrClosed.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Waits until a call was closed by its service; false on timeout. */
  public boolean awaitClosed(Duration timeout) throws InterruptedException {
    return closed.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Waits until a cancelled call's cancel handler has run; false on timeout. */
  public boolean awaitCancelled(Duration timeout) throws InterruptedException {
    return cancelled.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }
}
