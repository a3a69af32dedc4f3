package dev.graft.service;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The response side of a server-streaming call that reads only what it asks for
 * ({@link #request}): a slow client for tests of a server's flow control. Pass it as the response
 * observer of an async stub call; it asks for nothing until told to.
 *
 * @param <Q> the request type
 * @param <A> the response message type
 */
public final class ManualReader<Q, A> implements ClientResponseObserver<Q, A> {

  private final List<A> received = new CopyOnWriteArrayList<>();
  private final CompletableFuture<Status> end = new CompletableFuture<>();
  private volatile ClientCallStreamObserver<Q> call;

  @Override
  public void beforeStart(ClientCallStreamObserver<Q> requestStream) {
    call = requestStream;
    requestStream.disableAutoRequestWithInitial(0);
  }

  /** Asks for {@code n} more messages. */
  public void request(int n) {
    call.request(n);
  }

  /** Cancels the call. */
  public void cancel() {
    call.cancel("the reader cancelled the call", null);
  }

  /** The messages delivered so far, in order. */
  public List<A> received() {
    return List.copyOf(received);
  }

  /**
   * Waits for the end of the call: OK when the server completed it, else its status.
   *
   * @throws TimeoutException if it did not end within {@code timeout}
   */
  public Status awaitEnd(Duration timeout) throws InterruptedException, TimeoutException {
    try {
      return end.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause()); // never completed exceptionally
    }
  }

  @Override
  public void onNext(A value) {
    received.add(value);
  }

  @Override
  public void onError(Throwable t) {
    end.complete(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    end.complete(Status.OK);
  }
}
