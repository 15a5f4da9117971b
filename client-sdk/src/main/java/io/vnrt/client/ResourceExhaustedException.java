package io.vnrt.client;

import io.grpc.Status;
import io.vnrt.proto.v1.NrtCode;
import java.util.Map;

/** RESOURCE_EXHAUSTED: not enough HBM (or another resource); the context holds the free total, the largest free block and the top consumers. */
public class ResourceExhaustedException extends VnrtException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; see {@link VnrtException}. */
  public ResourceExhaustedException(Status.Code code, NrtCode nrtCode, String message, Map<String, String> context,
      Throwable cause) {
    super(code, nrtCode, message, context, cause);
  }
}
