package io.vnrt.runtime.server;

import io.grpc.Detachable;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.io.IOException;
import java.io.InputStream;
import java.util.Set;

/**
 * Keeps the transport's buffers of a unary (or server-streaming) request parsed by
 * {@link io.vnrt.client.internal.AliasingMarshaller} alive until its call ends. gRPC releases a
 * request's buffers as soon as the listener's onMessage returns, but a unary handler runs later,
 * at onHalfClose: without this its bytes fields would point into released (possibly unmapped)
 * memory. The request's stream is detached from gRPC's (which then closes an empty stream) and
 * closed when the call completes or is cancelled. Client and bidirectional streams are left
 * alone: their handlers take each message inside onMessage.
 */
final class HeldRequestBuffers implements ServerInterceptor {
  private final Set<String> methods;

  /** Holds the requests of {@code methods} (full method names); the services see InputStream messages. */
  HeldRequestBuffers(Set<String> methods) {
    this.methods = Set.copyOf(methods);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    MethodDescriptor<Q, R> method = call.getMethodDescriptor();
    ServerCall.Listener<Q> listener = next.startCall(call, headers);
    if (method.getType().clientSendsOneMessage() && methods.contains(method.getFullMethodName())) {
      return new Holding<>(listener);
    }
    return listener;
  }

  private static final class Holding<Q> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
    private InputStream held;

    Holding(ServerCall.Listener<Q> delegate) {
      super(delegate);
    }

    @Override
    public void onMessage(Q message) {
      if (message instanceof Detachable d && message instanceof InputStream) {
        InputStream detached = d.detach();
        release();
        held = detached;
        @SuppressWarnings("unchecked")
        Q forwarded = (Q) detached;
        super.onMessage(forwarded);
        return;
      }
      super.onMessage(message);
    }

    @Override
    public void onComplete() {
      try {
        super.onComplete();
      } finally {
        release();
      }
    }

    @Override
    public void onCancel() {
      try {
        super.onCancel();
      } finally {
        release();
      }
    }

    private void release() {
      if (held != null) {
        try {
          held.close();
        } catch (IOException e) {
          // a buffer that does not release is the transport's to report
        }
        held = null;
      }
    }
  }
}
