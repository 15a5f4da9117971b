package io.vnrt.runtime.server;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.stub.StreamObserver;
import io.vnrt.runtime.models.LoadWatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Runs the body of a unary RPC, answering with its result or with the failure's status. */
final class Calls {
  private Calls() {
  }

  /** What a model load started by the current call watches: the call's cancellation and deadline. */
  static LoadWatch loadWatch() {
    Context call = Context.current();
    Deadline deadline = call.getDeadline();
    return new LoadWatch(call::isCancelled, deadline == null ? Long.MAX_VALUE
        : System.nanoTime() + deadline.timeRemaining(TimeUnit.NANOSECONDS));
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
