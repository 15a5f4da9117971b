package io.vnrt.runtime.server;

import com.google.protobuf.Any;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.vnrt.proto.v1.ErrorDetail;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.runtime.DeviceMemoryExhaustedException;
import io.vnrt.runtime.VnrtRuntimeException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where failures become gRPC statuses: each carries a google.rpc.Status with a
 * vnrt.v1.ErrorDetail (NRT code, message, context) in the grpc-status-details-bin trailer.
 */
public final class Statuses {
  private static final Logger log = LoggerFactory.getLogger(Statuses.class);
  /** Longest status message, in characters: enough for any explanation, never a tensor's values. */
  public static final int MAX_MESSAGE_CHARS = 4096;
  /** Longest value of one ErrorDetail context entry, in characters. */
  public static final int MAX_CONTEXT_VALUE_CHARS = 1024;
  /** Most ErrorDetail context entries kept. */
  public static final int MAX_CONTEXT_ENTRIES = 32;
  private static final SecureRandom incidents = new SecureRandom();

  private Statuses() {
  }

  /**
   * The status for any failure: runtime refusals by kind, device memory and heap exhaustion
   * RESOURCE_EXHAUSTED, gRPC statuses as they are, anything else INTERNAL with an incident id
   * (logged with its stack) and never the exception's class or text.
   */
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
        case PERMISSION_DENIED -> status(Status.Code.PERMISSION_DENIED, NrtCode.NRT_INVALID, e.getMessage(),
            e.context());
      };
    }
    if (failure instanceof DeviceMemoryExhaustedException e) {
      return status(Status.Code.RESOURCE_EXHAUSTED, NrtCode.NRT_RESOURCE, e.getMessage(), e.facts());
    }
    if (failure instanceof StatusRuntimeException e) {
      return e;
    }
    if (failure instanceof StatusException e) {
      return new StatusRuntimeException(e.getStatus(), e.getTrailers());
    }
    String incident = HexFormat.of().toHexDigits(incidents.nextInt());
    if (failure instanceof OutOfMemoryError) {
      log.warn("incident {}: the daemon's heap ran out answering a request: {}", incident,
          bounded(String.valueOf(failure.getMessage())));
      return status(Status.Code.RESOURCE_EXHAUSTED, NrtCode.NRT_RESOURCE, "the daemon ran out of heap memory for this "
          + "request (incident " + incident + "); retry later, or send less at once", Map.of("incident", incident));
    }
    log.error("incident {}: internal error: {}", incident, bounded(failure.toString()), trace(failure));
    return status(Status.Code.INTERNAL, NrtCode.NRT_FAILURE, "internal error in the daemon (incident " + incident
        + "); the request was not completed and the daemon keeps serving; its log has the details under this "
        + "incident", Map.of("incident", incident));
  }

  /**
   * {@code text} cut to {@link #MAX_MESSAGE_CHARS} with a note of how much was cut: a message
   * never carries a huge constant or tensor, however it was built.
   */
  public static String bounded(String text) {
    return bounded(text, MAX_MESSAGE_CHARS);
  }

  private static String bounded(String text, int max) {
    if (text.length() <= max) {
      return text;
    }
    int keep = max - 64;
    if (Character.isHighSurrogate(text.charAt(keep - 1))) {
      keep--;
    }
    return text.substring(0, keep) + "… (" + (text.length() - keep) + " more characters cut)";
  }

  /** The stack of {@code failure} under a bounded message, for the log (the message may be huge). */
  private static Throwable trace(Throwable failure) {
    Throwable t = new Throwable("stack of incident");
    t.setStackTrace(failure.getStackTrace());
    if (failure.getCause() != null && failure.getCause() != failure) {
      Throwable cause = new Throwable("caused by " + bounded(failure.getCause().toString(), 512));
      cause.setStackTrace(failure.getCause().getStackTrace());
      t.initCause(cause);
    }
    return t;
  }

  private static Map<String, String> bounded(Map<String, String> context) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : context.entrySet()) {
      if (out.size() == MAX_CONTEXT_ENTRIES) {
        break;
      }
      out.put(bounded(e.getKey(), 128), bounded(e.getValue(), MAX_CONTEXT_VALUE_CHARS));
    }
    return out;
  }

  /** A status with an ErrorDetail attached; the message and context are bounded. */
  public static StatusRuntimeException status(Status.Code code, NrtCode nrtCode, String message,
      Map<String, String> context) {
    String text = bounded(message);
    ErrorDetail detail = ErrorDetail.newBuilder()
        .setCode(nrtCode)
        .setMessage(text)
        .putAllContext(bounded(context))
        .build();
    com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
        .setCode(code.value())
        .setMessage(text)
        .addDetails(Any.pack(detail))
        .build();
    return StatusProto.toStatusRuntimeException(status);
  }
}
