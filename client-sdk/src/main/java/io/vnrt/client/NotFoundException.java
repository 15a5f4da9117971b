package io.vnrt.client;

import io.grpc.Status;
import io.vnrt.proto.v1.NrtCode;
import java.util.Map;

/** NOT_FOUND: an unknown, freed or foreign tensor handle (another session's handles are never visible). */
public class NotFoundException extends VnrtException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; see {@link VnrtException}. */
  public NotFoundException(Status.Code code, NrtCode nrtCode, String message, Map<String, String> context,
      Throwable cause) {
    super(code, nrtCode, message, context, cause);
  }
}
