package io.vnrt.runtime.server;

import io.grpc.ForwardingServerCallListener;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vnrt.proto.v1.NrtCode;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Answers a request message that cannot be parsed with a documented status instead of grpc-java's
 * UNKNOWN ("Application error processing RPC"): a compressed message that inflates past the
 * daemon's message limit (a gzip bomb) is RESOURCE_EXHAUSTED, one that is not the method's
 * protobuf message INVALID_ARGUMENT. grpc-java enforces the limit while parsing, before any
 * listener runs, so the parse is wrapped here: it records the failure for the listener, which
 * closes the call and tells what is below it that the call is over (an upload releases its buffer).
 */
final class ParseGuard {
  /** The failure of the last parse on this thread; grpc-java parses and delivers a message on one thread. */
  private static final ThreadLocal<StatusRuntimeException> FAILED = new ThreadLocal<>();

  private ParseGuard() {
  }

  /** {@code service} with every method's request parse guarded (its schema kept, for reflection). */
  static ServerServiceDefinition guard(ServerServiceDefinition service) {
    ServiceDescriptor old = service.getServiceDescriptor();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(old.getName())
        .setSchemaDescriptor(old.getSchemaDescriptor());
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      ServerMethodDefinition<?, ?> guarded = guard(m);
      methods.add(guarded);
      descriptor.addMethod(guarded.getMethodDescriptor());
    }
    ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(b::addMethod);
    return b.build();
  }

  private static <Q, R> ServerMethodDefinition<Q, R> guard(ServerMethodDefinition<Q, R> method) {
    MethodDescriptor<Q, R> md = method.getMethodDescriptor();
    MethodDescriptor.Marshaller<Q> inner = md.getRequestMarshaller();
    MethodDescriptor.Marshaller<Q> guarded = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(Q value) {
        return inner.stream(value);
      }

      @Override
      public Q parse(InputStream stream) {
        try {
          return inner.parse(stream);
        } catch (StatusRuntimeException e) {
          FAILED.set(e);
          return null;
        }
      }
    };
    MethodDescriptor<Q, R> guardedMd = md.toBuilder(guarded, md.getResponseMarshaller()).build();
    ServerCallHandler<Q, R> handler = method.getServerCallHandler();
    return ServerMethodDefinition.create(guardedMd, (call, headers) -> new GuardedListener<>(call,
        handler.startCall(call, headers)));
  }

  /** Closes the call on a message that failed to parse, and passes nothing more down. */
  private static final class GuardedListener<Q, R> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
    private final ServerCall<Q, R> call;
    private boolean closed;

    GuardedListener(ServerCall<Q, R> call, ServerCall.Listener<Q> delegate) {
      super(delegate);
      this.call = call;
    }

    @Override
    public void onMessage(Q message) {
      StatusRuntimeException failure = FAILED.get();
      if (message == null && failure != null) {
        FAILED.remove();
        if (!closed) {
          closed = true;
          String why = Statuses.bounded(String.valueOf(failure.getStatus().getDescription()));
          StatusRuntimeException answer = failure.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED
              ? Statuses.status(Status.Code.RESOURCE_EXHAUSTED, NrtCode.NRT_RESOURCE, why + "; send less in one "
                  + "message (the daemon's limit applies to the inflated size)", Map.of())
              : Statuses.status(Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "the request message cannot be "
                  + "parsed as " + call.getMethodDescriptor().getFullMethodName() + "'s request: " + why, Map.of());
          call.close(answer.getStatus(), answer.getTrailers());
          super.onCancel();
        }
        return;
      }
      if (!closed) {
        super.onMessage(message);
      }
    }

    @Override
    public void onHalfClose() {
      if (!closed) {
        super.onHalfClose();
      }
    }

    @Override
    public void onCancel() {
      if (!closed) {
        super.onCancel();
      }
    }

    @Override
    public void onComplete() {
      if (!closed) {
        super.onComplete();
      }
    }

    @Override
    public void onReady() {
      if (!closed) {
        super.onReady();
      }
    }
  }
}
