package io.vnrt.runtime.server;

import io.grpc.stub.ServerCallStreamObserver;

/**
 * The flow control of a bidirectional stream that answers every request once: a fixed number of
 * requests is read ahead, and each answer sent frees one more read only when the transport can
 * take more responses; otherwise the read is owed until the call is ready again. So a client that
 * stops reading makes the daemon hold at most {@code window} executions and their responses,
 * however fast it sends. Used by ExecuteStream and KServe's ModelStreamInfer. Not thread-safe: the
 * stream calls it under the lock that serialises its writes.
 */
final class StreamCredit {
  private final ServerCallStreamObserver<?> call;
  private int owed;

  /** Takes over the call's reads (auto-request off) and asks for the first {@code window} requests. */
  StreamCredit(ServerCallStreamObserver<?> call, int window, Runnable onReadyUnderLock) {
    this.call = call;
    call.disableAutoRequest();
    call.setOnReadyHandler(onReadyUnderLock);
    call.request(window);
  }

  /** An answer was sent: its request's place is free. */
  void answered() {
    if (call.isReady()) {
      call.request(1);
    } else {
      owed++;
    }
  }

  /** The transport takes responses again: reads what is owed. */
  void ready() {
    if (owed > 0 && !call.isCancelled()) {
      call.request(owed);
      owed = 0;
    }
  }
}
