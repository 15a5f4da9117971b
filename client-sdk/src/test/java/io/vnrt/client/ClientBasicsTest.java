package io.vnrt.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.vnrt.client.internal.Errors;
import io.vnrt.client.internal.Transports;
import io.vnrt.proto.v1.ErrorDetail;
import io.vnrt.proto.v1.NrtCode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** The SDK's pieces that need no daemon: specs, error mapping, targets, wire formats. */
class ClientBasicsTest {

  @Test
  void specsKnowTheirSize() {
    TensorSpec spec = TensorSpec.of(DType.FLOAT16, 3, 4).named("h");
    assertEquals(24, spec.sizeBytes());
    assertEquals(List.of(3L, 4L), spec.shape());
    assertEquals("'h' FLOAT16[3, 4]", spec.toString());
    assertEquals(4, TensorSpec.of(DType.INT32).sizeBytes(), "a scalar");
    assertEquals(100, TensorSpec.raw(100).sizeBytes());
    assertThrows(ArithmeticException.class, () -> TensorSpec.of(DType.INT64, 1L << 62, 4).sizeBytes());
    for (DType d : DType.values()) {
      assertSame(d, DType.fromProto(d.toProto()));
    }
  }

  @Test
  void statusesBecomeTypedExceptionsWithTheirDetail() {
    StatusRuntimeException notFound = StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
        .setCode(Status.Code.NOT_FOUND.value()).setMessage("no tensor with handle 't-1'")
        .addDetails(Any.pack(ErrorDetail.newBuilder().setCode(NrtCode.NRT_INVALID_HANDLE)
            .putContext("handle", "t-1").build()))
        .build());
    NotFoundException e = assertInstanceOf(NotFoundException.class,
        Errors.translate(new CompletionException(notFound)));
    assertEquals(NrtCode.NRT_INVALID_HANDLE, e.nrtCode());
    assertEquals("t-1", e.context().get("handle"));
    assertEquals("no tensor with handle 't-1'", e.getMessage());

    VnrtException plain = assertInstanceOf(VnrtException.class,
        Errors.translate(Status.UNAVAILABLE.withDescription("io exception").asRuntimeException()));
    assertEquals(Status.Code.UNAVAILABLE, plain.code());
    assertEquals(NrtCode.NRT_CODE_UNSPECIFIED, plain.nrtCode());
    IllegalStateException local = new IllegalStateException("mine");
    assertSame(local, Errors.translate(local), "local failures pass through");
  }

  @Test
  void targetsAreCheckedBeforeConnecting() {
    for (String bad : new String[] {"", "localhost", "unix:relative.sock", "host:"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VnrtClient.connect(bad));
      assertTrue(e.getMessage().contains("unix:/") || e.getMessage().contains("host:port"), e.getMessage());
    }
    Transports.open("unix:///tmp/nothing-here.sock").shutdown();
    Transports.open("[::1]:50051").shutdown();
  }

  @Test
  void asynchronousCallsRefuseConfinedSegments() {
    try (Arena confined = Arena.ofConfined(); Arena shared = Arena.ofShared()) {
      MemorySegment mine = confined.allocate(8);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> io.vnrt.client.internal.WireFormat.requireShared(mine, "read"));
      assertTrue(e.getMessage().contains("use the blocking read instead"), e.getMessage());
      io.vnrt.client.internal.WireFormat.requireShared(shared.allocate(8), "read");
      assertTrue(io.vnrt.client.internal.WireFormat.BYTES.canAlias(shared.allocate(8)));
      assertTrue(!io.vnrt.client.internal.WireFormat.FLOATS.canAlias(MemorySegment.ofArray(new float[2])),
          "a float[] cannot be viewed as bytes without a copy");
    }
  }
}
