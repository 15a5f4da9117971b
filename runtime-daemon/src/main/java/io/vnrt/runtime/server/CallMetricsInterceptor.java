package io.vnrt.runtime.server;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.vnrt.runtime.metrics.RuntimeMetrics;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Counts every call by method and the status code it ended with (errors by status); a call the
 * client cancelled before the daemon answered counts as CANCELLED.
 */
final class CallMetricsInterceptor implements ServerInterceptor {
  private final RuntimeMetrics metrics;

  CallMetricsInterceptor(RuntimeMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    AtomicBoolean counted = new AtomicBoolean();
    ServerCall.Listener<Q> listener = next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        if (counted.compareAndSet(false, true)) {
          metrics.callCompleted(method, status.getCode().name());
        }
        super.close(status, trailers);
      }
    }, headers);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onCancel() {
        if (counted.compareAndSet(false, true)) {
          metrics.callCompleted(method, Status.Code.CANCELLED.name());
        }
        super.onCancel();
      }
    };
  }
}
