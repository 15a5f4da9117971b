package io.vnrt.client;

import io.grpc.Status;
import io.vnrt.proto.v1.NrtCode;
import java.util.Map;

/**
 * A failed vnrt call: the gRPC status code, the runtime's NRT-style code and the structured
 * facts the daemon attached (e.g. "requested_bytes", "free_bytes"). Unchecked.
 */
public class VnrtException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status.Code code;
  private final NrtCode nrtCode;
  private final Map<String, String> context;

  /** Creates an exception; {@code cause} is usually the gRPC exception it came from. */
  public VnrtException(Status.Code code, NrtCode nrtCode, String message, Map<String, String> context,
      Throwable cause) {
    super(message, cause);
    this.code = code;
    this.nrtCode = nrtCode;
    this.context = Map.copyOf(context);
  }

  /** The gRPC status code of the failure. */
  public Status.Code code() {
    return code;
  }

  /** The runtime's error code, or NRT_CODE_UNSPECIFIED when the daemon attached none. */
  public NrtCode nrtCode() {
    return nrtCode;
  }

  /** Structured facts about the failure; empty when there are none. */
  public Map<String, String> context() {
    return context;
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + " [" + code + "/" + nrtCode + "]: " + getMessage();
  }
}
