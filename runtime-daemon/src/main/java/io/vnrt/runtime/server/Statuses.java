package io.vnrt.runtime.server;

import com.google.protobuf.Any;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.vnrt.proto.v1.ErrorDetail;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.runtime.VnrtRuntimeException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where failures become gRPC statuses: each carries a google.rpc.Status with a
 * vnrt.v1.ErrorDetail (NRT code, message, context) in the grpc-status-details-bin trailer.
 */
public final class Statuses {
  private static final Logger log = LoggerFactory.getLogger(Statuses.class);

  private Statuses() {
  }

  /** The status for any failure: runtime refusals by kind, gRPC statuses as they are, anything else INTERNAL. */
  public static StatusRuntimeException toStatus(Throwable failure) {
    if (failure instanceof VnrtRuntimeException e) {
      return switch (e.kind()) {
        case INVALID_ARGUMENT -> status(Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, e.getMessage(),
            e.context());
        case NOT_FOUND -> status(Status.Code.NOT_FOUND, NrtCode.NRT_INVALID_HANDLE, e.getMessage(), e.context());
        case RESOURCE_EXHAUSTED -> status(Status.Code.RESOURCE_EXHAUSTED, NrtCode.NRT_RESOURCE, e.getMessage(),
            e.context());
        case SESSION_CLOSED -> status(Status.Code.UNAUTHENTICATED, NrtCode.NRT_CLOSED, e.getMessage(),
            e.context());
        case UNAVAILABLE -> status(Status.Code.UNAVAILABLE, NrtCode.NRT_CODE_UNSPECIFIED, e.getMessage(),
            e.context());
        case EXEC_BAD_INPUT -> status(Status.Code.INVALID_ARGUMENT, NrtCode.NRT_EXEC_BAD_INPUT, e.getMessage(),
            e.context());
        case QUEUE_FULL -> status(Status.Code.RESOURCE_EXHAUSTED, NrtCode.NRT_QUEUE_FULL, e.getMessage(), e.context());
        case NOT_ENOUGH_CORES -> status(Status.Code.RESOURCE_EXHAUSTED, NrtCode.NRT_LOAD_NOT_ENOUGH_NC,
            e.getMessage(), e.context());
        case DEADLINE_EXCEEDED -> status(Status.Code.DEADLINE_EXCEEDED, NrtCode.NRT_TIMEOUT, e.getMessage(),
            e.context());
        case UNSUPPORTED -> status(Status.Code.UNIMPLEMENTED, NrtCode.NRT_UNSUPPORTED, e.getMessage(), e.context());
        case CANCELLED -> status(Status.Code.CANCELLED, NrtCode.NRT_CODE_UNSPECIFIED, e.getMessage(), e.context());
      };
    }
    if (failure instanceof StatusRuntimeException e) {
      return e;
    }
    if (failure instanceof StatusException e) {
      return new StatusRuntimeException(e.getStatus(), e.getTrailers());
    }
    log.error("internal error", failure);
    return status(Status.Code.INTERNAL, NrtCode.NRT_FAILURE, "internal error in the daemon: " + failure,
        Map.of());
  }

  /** A status with an ErrorDetail attached. */
  public static StatusRuntimeException status(Status.Code code, NrtCode nrtCode, String message,
      Map<String, String> context) {
    ErrorDetail detail = ErrorDetail.newBuilder()
        .setCode(nrtCode)
        .setMessage(message)
        .putAllContext(context)
        .build();
    com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
        .setCode(code.value())
        .setMessage(message)
        .addDetails(Any.pack(detail))
        .build();
    return StatusProto.toStatusRuntimeException(status);
  }
}
