package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.vnrt.proto.v1.ErrorDetail;
import io.vnrt.runtime.DeviceMemoryExhaustedException;
import io.vnrt.runtime.VnrtRuntimeException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every failure becomes a documented status with a bounded message and no Java internals. */
class StatusesTest {
  private static ErrorDetail detail(StatusRuntimeException e) throws Exception {
    return StatusProto.fromThrowable(e).getDetails(0).unpack(ErrorDetail.class);
  }

  @Test
  void aMessageEchoingAHugeConstantIsCutWithANote() throws Exception {
    String huge = "constant 'c' has values " + "1.0, ".repeat(1_000_000);
    StatusRuntimeException e = Statuses.toStatus(VnrtRuntimeException.invalid(huge, "values", huge));
    String message = e.getStatus().getDescription();
    assertTrue(message.length() <= Statuses.MAX_MESSAGE_CHARS, "message of " + message.length() + " characters");
    assertTrue(message.endsWith("more characters cut)"), message.substring(message.length() - 80));
    assertTrue(message.startsWith("constant 'c' has values 1.0, "));
    ErrorDetail d = detail(e);
    assertTrue(d.getMessage().length() <= Statuses.MAX_MESSAGE_CHARS);
    assertTrue(d.getContextOrThrow("values").length() <= Statuses.MAX_CONTEXT_VALUE_CHARS);
    assertTrue(e.getTrailers().toString().length() < 4 * Statuses.MAX_MESSAGE_CHARS + 4096,
        "the trailers are bounded too");
  }

  @Test
  void aBugIsInternalWithAnIncidentAndNoJavaText() throws Exception {
    StatusRuntimeException e = Statuses.toStatus(new NullPointerException("Cannot invoke \"Object.hashCode()\""));
    assertEquals(Status.Code.INTERNAL, e.getStatus().getCode());
    String message = e.getStatus().getDescription();
    assertFalse(MalformedModelFuzzTest.JAVA_NAME.matcher(message).find(), message);
    assertFalse(message.contains("hashCode"), message);
    assertTrue(message.contains("incident " + detail(e).getContextOrThrow("incident")), message);
  }

  @Test
  void heapAndDeviceMemoryExhaustionAreResourceExhausted() throws Exception {
    StatusRuntimeException heap = Statuses.toStatus(new OutOfMemoryError("Java heap space"));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, heap.getStatus().getCode());
    assertFalse(MalformedModelFuzzTest.JAVA_NAME.matcher(heap.getStatus().getDescription()).find());
    StatusRuntimeException device = Statuses.toStatus(DeviceMemoryExhaustedException.host("scratch of model 'm'",
        1 << 20, 1 << 19, 1 << 20, null));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, device.getStatus().getCode());
    assertEquals(Map.of("device_id", "host", "requested_bytes", "1048576", "in_use_bytes", "524288",
        "limit_bytes", "1048576"), detail(device).getContextMap());
  }
}
