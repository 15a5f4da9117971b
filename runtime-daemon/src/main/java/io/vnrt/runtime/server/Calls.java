package io.vnrt.runtime.server;

import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;

/** Runs the body of a unary RPC, answering with its result or with the failure's status. */
final class Calls {
  private Calls() {
  }

  static <R> void unary(StreamObserver<R> response, Supplier<R> body) {
    R result;
    try {
      result = body.get();
    } catch (RuntimeException | OutOfMemoryError e) {
      response.onError(Statuses.toStatus(e));
      return;
    }
    response.onNext(result);
    response.onCompleted();
  }
}
