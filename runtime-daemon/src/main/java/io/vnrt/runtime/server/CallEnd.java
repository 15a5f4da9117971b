package io.vnrt.runtime.server;

import io.grpc.ForwardingServerCallListener;
import io.grpc.ServerCall;

/** Listeners that run an action once when a call ends, completed or cancelled. */
final class CallEnd {
  private CallEnd() {}

  /** {@code delegate}, running {@code end} exactly once after the call completes or is cancelled. */
  static <Q> ServerCall.Listener<Q> runOnce(ServerCall.Listener<Q> delegate, Runnable end) {
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
      private boolean ended;

      @Override
      public void onComplete() {
        try {
          super.onComplete();
        } finally {
          end();
        }
      }

      @Override
      public void onCancel() {
        try {
          super.onCancel();
        } finally {
          end();
        }
      }

      private void end() {
        if (!ended) {
          ended = true;
          end.run();
        }
      }
    };
  }
}
