package io.vnrt.client;

import io.grpc.Status;
import io.vnrt.proto.v1.NrtCode;
import java.util.Map;

/** The session is unknown, closed or its lease expired (UNAUTHENTICATED with NRT_CLOSED): open a new one. */
public class SessionClosedException extends VnrtException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; see {@link VnrtException}. */
  public SessionClosedException(Status.Code code, NrtCode nrtCode, String message, Map<String, String> context,
      Throwable cause) {
    super(code, nrtCode, message, context, cause);
  }
}
