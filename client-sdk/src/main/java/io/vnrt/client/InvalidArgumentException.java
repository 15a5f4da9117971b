package io.vnrt.client;

import io.grpc.Status;
import io.vnrt.proto.v1.NrtCode;
import java.util.Map;

/** INVALID_ARGUMENT: the request was malformed; the message says what was wrong and what was expected. */
public class InvalidArgumentException extends VnrtException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; see {@link VnrtException}. */
  public InvalidArgumentException(Status.Code code, NrtCode nrtCode, String message, Map<String, String> context,
      Throwable cause) {
    super(code, nrtCode, message, context, cause);
  }
}
