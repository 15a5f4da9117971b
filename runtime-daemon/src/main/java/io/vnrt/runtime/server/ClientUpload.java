package io.vnrt.runtime.server;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A client-streaming call that gathers its messages into something held for the call (a pinned
 * tensor, a model's bytes) and answers once: a bad message answers with its error at once, and a
 * failure, a finished call or a vanished client all release what was held, exactly as the other. A
 * stream quiet for the {@link StreamIdleWatch}'s timeout is failed and released the same way.
 */
abstract class ClientUpload<Q, R> implements StreamObserver<Q>, StreamIdleWatch.Watched {
  private final StreamObserver<R> response;
  private final StreamIdleWatch watch;
  /** Serializes gRPC's callbacks with the watch's expiry, which never waits for it. */
  private final ReentrantLock lock = new ReentrantLock();
  private boolean done;
  private volatile long lastActivityNanos;

  ClientUpload(StreamObserver<R> response, StreamIdleWatch watch) {
    this.response = response;
    this.watch = watch;
    this.lastActivityNanos = watch.now();
    watch.watch(this);
  }

  @Override
  public long lastActivityNanos() {
    return lastActivityNanos;
  }

  @Override
  public boolean expireIdle(Duration idleTimeout) {
    // busy (a message or the final load being handled) is not idle: try again at the next sweep
    if (!lock.tryLock()) {
      return false;
    }
    try {
      if (done) {
        return false;
      }
      done = true;
      release();
      response.onError(Status.DEADLINE_EXCEEDED.withDescription("the stream sent nothing for "
          + seconds(idleTimeout) + " (the daemon's stream-idle-timeout), so the daemon ended it and"
          + " released what it held; send the next message sooner, or start again").asRuntimeException());
      return true;
    } finally {
      lock.unlock();
    }
  }

  private static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  /** Takes one message; throws (a VnrtRuntimeException, mostly) to fail the call. */
  abstract void accept(Q message);

  /** The answer once the client has sent everything; throws to fail the call. */
  abstract R finish();

  /** Drops what the call holds; runs after finish(), on failure and when the client goes away. */
  abstract void release();

  @Override
  public final void onNext(Q message) {
    lock.lock();
    try {
      if (done) {
        return;
      }
      lastActivityNanos = watch.now();
      accept(message);
    } catch (RuntimeException | OutOfMemoryError e) {
      fail(e);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public final void onError(Throwable t) {
    // the client cancelled or vanished: nobody to answer, only what is held to drop
    lock.lock();
    try {
      watch.forget(this);
      if (!done) {
        done = true;
        release();
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public final void onCompleted() {
    lock.lock();
    try {
      watch.forget(this);
      if (done) {
        return;
      }
      R answer = finish();
      done = true;
      release();
      response.onNext(answer);
      response.onCompleted();
    } catch (RuntimeException | OutOfMemoryError e) {
      fail(e);
    } finally {
      lock.unlock();
    }
  }

  private void fail(Throwable e) {
    watch.forget(this);
    done = true;
    release();
    response.onError(Statuses.toStatus(e));
  }
}
