package io.vnrt.client.internal;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A unary call as a CompletableFuture: completes with the response, fails with the SDK's
 * typed exception, and cancelling the future cancels the call.
 *
 * @param <Q> request type
 * @param <R> response type
 */
public final class UnaryCall<Q, R> implements ClientResponseObserver<Q, R> {
  private final CompletableFuture<R> result = new CompletableFuture<>();
  private R response;

  private UnaryCall() {
  }

  /** Starts a call through {@code invoker} (e.g. {@code o -> stub.freeTensor(request, o)}). */
  public static <Q, R> CompletableFuture<R> start(Consumer<ClientResponseObserver<Q, R>> invoker) {
    UnaryCall<Q, R> call = new UnaryCall<>();
    invoker.accept(call);
    return call.result;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<Q> requestStream) {
    result.whenComplete((r, e) -> {
      if (result.isCancelled()) {
        requestStream.cancel("cancelled by the caller", null);
      }
    });
  }

  @Override
  public void onNext(R value) {
    response = value;
  }

  @Override
  public void onError(Throwable t) {
    result.completeExceptionally(Errors.translate(t));
  }

  @Override
  public void onCompleted() {
    result.complete(response);
  }
}
