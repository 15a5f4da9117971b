package io.vnrt.runtime.server;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.StatusRuntimeException;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.session.Session;
import io.vnrt.runtime.session.SessionRegistry;
import java.util.Set;

/**
 * Resolves the "vnrt-session-id" metadata to an open session, renews its lease, and puts it in
 * the call's Context. A call without a usable session fails UNAUTHENTICATED (NRT_CLOSED) before
 * it reaches a service. The session cannot expire while the call runs.
 */
public final class SessionInterceptor implements ServerInterceptor {
  /** Metadata key of the session id. */
  public static final Metadata.Key<String> SESSION_ID =
      Metadata.Key.of("vnrt-session-id", Metadata.ASCII_STRING_MARSHALLER);

  private static final Context.Key<Session> SESSION = Context.key("vnrt-session");

  private final SessionRegistry registry;
  private final Set<String> exempt;

  /** Requires a session on every method except those named in {@code exemptMethods} (full method names). */
  public SessionInterceptor(SessionRegistry registry, Set<String> exemptMethods) {
    this.registry = registry;
    this.exempt = Set.copyOf(exemptMethods);
  }

  /** The calling session; only inside a call that passed this interceptor. */
  public static Session current() {
    Session s = SESSION.get();
    if (s == null) {
      throw new IllegalStateException("no session in this call's context");
    }
    return s;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    if (exempt.contains(call.getMethodDescriptor().getFullMethodName())) {
      return next.startCall(call, headers);
    }
    Session session;
    try {
      session = registry.beginCall(headers.get(SESSION_ID));
    } catch (VnrtRuntimeException e) {
      StatusRuntimeException status = Statuses.toStatus(e);
      call.close(status.getStatus(), status.getTrailers() == null ? new Metadata() : status.getTrailers());
      return new ServerCall.Listener<>() {
      };
    }
    ServerCall.Listener<Q> delegate;
    try {
      delegate = Contexts.interceptCall(Context.current().withValue(SESSION, session), call, headers, next);
    } catch (RuntimeException e) {
      session.endCall();
      throw e;
    }
    return CallEnd.runOnce(delegate, session::endCall);
  }
}
