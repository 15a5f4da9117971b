package io.vnrt.client.internal;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.vnrt.client.InvalidArgumentException;
import io.vnrt.client.NotFoundException;
import io.vnrt.client.ResourceExhaustedException;
import io.vnrt.client.SessionClosedException;
import io.vnrt.client.VnrtException;
import io.vnrt.proto.v1.ErrorDetail;
import io.vnrt.proto.v1.NrtCode;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** Turns gRPC failures into the SDK's typed exceptions; the one place that does. */
public final class Errors {
  private Errors() {
  }

  /**
   * The SDK exception for a failure: a gRPC status anywhere in the cause chain becomes a
   * {@link VnrtException} (subclass by code); any other runtime exception passes through.
   */
  public static RuntimeException translate(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof VnrtException v) {
        return v;
      }
      if (t instanceof StatusRuntimeException || t instanceof StatusException) {
        return fromStatus(t);
      }
    }
    Throwable root = failure;
    while ((root instanceof ExecutionException || root instanceof java.util.concurrent.CompletionException)
        && root.getCause() != null) {
      root = root.getCause();
    }
    if (root instanceof RuntimeException r) {
      return r;
    }
    return new VnrtException(Status.Code.UNKNOWN, NrtCode.NRT_FAILURE, String.valueOf(root.getMessage()),
        Map.of(), root);
  }

  private static VnrtException fromStatus(Throwable t) {
    Status status = Status.fromThrowable(t);
    NrtCode nrt = NrtCode.NRT_CODE_UNSPECIFIED;
    Map<String, String> context = Map.of();
    com.google.rpc.Status rich = StatusProto.fromThrowable(t);
    if (rich != null) {
      for (Any any : rich.getDetailsList()) {
        if (any.is(ErrorDetail.class)) {
          try {
            ErrorDetail detail = any.unpack(ErrorDetail.class);
            nrt = detail.getCode();
            context = detail.getContextMap();
          } catch (InvalidProtocolBufferException e) {
            // a corrupt detail must not hide the status itself
            context = Map.of("detail_error", e.getMessage());
          }
        }
      }
    }
    String message = status.getDescription() != null ? status.getDescription() : status.getCode().toString();
    return switch (status.getCode()) {
      case NOT_FOUND -> new NotFoundException(status.getCode(), nrt, message, context, t);
      case INVALID_ARGUMENT -> new InvalidArgumentException(status.getCode(), nrt, message, context, t);
      case RESOURCE_EXHAUSTED -> new ResourceExhaustedException(status.getCode(), nrt, message, context, t);
      case UNAUTHENTICATED -> nrt == NrtCode.NRT_CLOSED
          ? new SessionClosedException(status.getCode(), nrt, message, context, t)
          : new VnrtException(status.getCode(), nrt, message, context, t);
      default -> new VnrtException(status.getCode(), nrt, message, context, t);
    };
  }

  /** Waits for a future, rethrowing its failure as an SDK exception; interruption cancels it. */
  public static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      future.cancel(true);
      Thread.currentThread().interrupt();
      throw new VnrtException(Status.Code.CANCELLED, NrtCode.NRT_CODE_UNSPECIFIED,
          "interrupted while waiting for the daemon", Map.of(), e);
    } catch (ExecutionException e) {
      throw translate(e.getCause());
    } catch (CancellationException e) {
      throw new VnrtException(Status.Code.CANCELLED, NrtCode.NRT_CODE_UNSPECIFIED, "the call was cancelled",
          Map.of(), e);
    }
  }
}
