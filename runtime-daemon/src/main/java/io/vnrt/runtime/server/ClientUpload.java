package io.vnrt.runtime.server;

import io.grpc.stub.StreamObserver;

/**
 * A client-streaming call that gathers its messages into something held for the call (a pinned
 * tensor, a model's bytes) and answers once: a bad message answers with its error at once, and a
 * failure, a finished call or a vanished client all release what was held, exactly as the other.
 */
abstract class ClientUpload<Q, R> implements StreamObserver<Q> {
  private final StreamObserver<R> response;
  private boolean done;

  ClientUpload(StreamObserver<R> response) {
    this.response = response;
  }

  /** Takes one message; throws (a VnrtRuntimeException, mostly) to fail the call. */
  abstract void accept(Q message);

  /** The answer once the client has sent everything; throws to fail the call. */
  abstract R finish();

  /** Drops what the call holds; runs after finish(), on failure and when the client goes away. */
  abstract void release();

  @Override
  public final void onNext(Q message) {
    if (done) {
      return;
    }
    try {
      accept(message);
    } catch (RuntimeException | OutOfMemoryError e) {
      fail(e);
    }
  }

  @Override
  public final void onError(Throwable t) {
    // the client cancelled or vanished: nobody to answer, only what is held to drop
    done = true;
    release();
  }

  @Override
  public final void onCompleted() {
    if (done) {
      return;
    }
    try {
      R answer = finish();
      done = true;
      release();
      response.onNext(answer);
      response.onCompleted();
    } catch (RuntimeException | OutOfMemoryError e) {
      fail(e);
    }
  }

  private void fail(Throwable e) {
    done = true;
    release();
    response.onError(Statuses.toStatus(e));
  }
}
