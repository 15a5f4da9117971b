package io.vnrt.runtime.server;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vnrt.proto.v1.AdminGrpc;
import io.vnrt.proto.v1.NrtCode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Checks the "authorization: Bearer TOKEN" metadata. No token (or not a bearer one) is
 * UNAUTHENTICATED; a token that is not the daemon's is PERMISSION_DENIED, as is a user token on
 * an Admin call. Health and reflection stay open so that probes and generic tools work. Tokens
 * are compared through their SHA-256 digests in constant time.
 */
final class AuthInterceptor implements ServerInterceptor {
  /** The metadata key of the credential. */
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization",
      Metadata.ASCII_STRING_MARSHALLER);

  private static final String BEARER = "Bearer ";
  private static final Set<String> OPEN_SERVICES = Set.of("grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection");

  private final Optional<byte[]> userDigest;
  private final Optional<byte[]> adminDigest;

  AuthInterceptor(Optional<String> userToken, Optional<String> adminToken) {
    this.userDigest = userToken.map(AuthInterceptor::digest);
    this.adminDigest = adminToken.map(AuthInterceptor::digest);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String service = call.getMethodDescriptor().getServiceName();
    if (OPEN_SERVICES.contains(service)) {
      return next.startCall(call, headers);
    }
    boolean admin = AdminGrpc.SERVICE_NAME.equals(service);
    Optional<String> refusal = admin ? checkAdmin(headers.get(AUTHORIZATION)) : checkUser(headers.get(AUTHORIZATION));
    if (refusal.isEmpty()) {
      return next.startCall(call, headers);
    }
    boolean missing = bearer(headers.get(AUTHORIZATION)).isEmpty();
    StatusRuntimeException status = Statuses.status(
        missing ? Status.Code.UNAUTHENTICATED : Status.Code.PERMISSION_DENIED, NrtCode.NRT_CODE_UNSPECIFIED,
        refusal.get(), Map.of("rpc", call.getMethodDescriptor().getFullMethodName()));
    call.close(status.getStatus(), status.getTrailers() == null ? new Metadata() : status.getTrailers());
    return new ServerCall.Listener<>() {
    };
  }

  /** Why a vnrt or KServe call with this authorization header is refused; empty when it may go on. */
  Optional<String> checkUser(String header) {
    if (userDigest.isEmpty()) {
      return Optional.empty();
    }
    Optional<byte[]> given = bearer(header).map(AuthInterceptor::digest);
    if (given.isEmpty()) {
      return Optional.of("this daemon needs a token: send metadata 'authorization: Bearer <token>' with the token "
          + "of its --auth-token-file");
    }
    if (matches(given.get(), userDigest) | matches(given.get(), adminDigest)) {
      return Optional.empty();
    }
    return Optional.of("the bearer token is not valid for this daemon");
  }

  private Optional<String> checkAdmin(String header) {
    Optional<byte[]> given = bearer(header).map(AuthInterceptor::digest);
    if (given.isEmpty()) {
      return Optional.of("Admin calls need the admin token: send metadata 'authorization: Bearer <token>' with the "
          + "token of the daemon's --admin-token-file");
    }
    if (adminDigest.isEmpty()) {
      return Optional.of("Admin calls are disabled: the daemon was started without --admin-token-file");
    }
    if (matches(given.get(), adminDigest)) {
      return Optional.empty();
    }
    return Optional.of("the bearer token is not the admin token; Admin calls need the token of --admin-token-file");
  }

  /** The bearer token of an authorization header, if it has one. */
  static Optional<String> bearer(String header) {
    if (header == null || header.length() <= BEARER.length()
        || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      return Optional.empty();
    }
    return Optional.of(header.substring(BEARER.length()).strip()).filter(t -> !t.isEmpty());
  }

  private static boolean matches(byte[] given, Optional<byte[]> expected) {
    return expected.isPresent() && MessageDigest.isEqual(given, expected.get());
  }

  private static byte[] digest(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
