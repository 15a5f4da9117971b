package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Attributes;
import io.grpc.Detachable;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * gRPC closes a request's stream right after onMessage, but a unary handler reads the request at
 * onHalfClose: the buffers an aliasing parse points into must outlive onMessage, until the call ends.
 */
class HeldRequestBuffersTest {
  /** A transport stream that can hand its buffers over, as gRPC's Netty streams do. */
  static final class TransportStream extends ByteArrayInputStream implements Detachable {
    final List<TransportStream> detached = new ArrayList<>();
    boolean closed;

    TransportStream(byte[] bytes) {
      super(bytes);
    }

    @Override
    public InputStream detach() {
      TransportStream d = new TransportStream(readAllBytes());
      detached.add(d);
      return d;
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  static MethodDescriptor<InputStream, InputStream> method(MethodDescriptor.MethodType type) {
    MethodDescriptor.Marshaller<InputStream> identity = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(InputStream value) {
        return value;
      }

      @Override
      public InputStream parse(InputStream stream) {
        return stream;
      }
    };
    return MethodDescriptor.newBuilder(identity, identity).setType(type).setFullMethodName("test.Bulk/Call").build();
  }

  static ServerCall<InputStream, InputStream> call(MethodDescriptor<InputStream, InputStream> method) {
    return new ServerCall<>() {
      @Override
      public void request(int numMessages) {
      }

      @Override
      public void sendHeaders(Metadata headers) {
      }

      @Override
      public void sendMessage(InputStream message) {
      }

      @Override
      public void close(Status status, Metadata trailers) {
      }

      @Override
      public boolean isCancelled() {
        return false;
      }

      @Override
      public Attributes getAttributes() {
        return Attributes.EMPTY;
      }

      @Override
      public MethodDescriptor<InputStream, InputStream> getMethodDescriptor() {
        return method;
      }
    };
  }

  @Test
  void aUnaryRequestsBuffersOutliveOnMessageUntilTheCallEnds() throws Exception {
    List<InputStream> seen = new ArrayList<>();
    var listener = new HeldRequestBuffers(Set.of("test.Bulk/Call")).interceptCall(
        call(method(MethodDescriptor.MethodType.UNARY)), new Metadata(), (c, h) -> new ServerCall.Listener<>() {
          @Override
          public void onMessage(InputStream message) {
            seen.add(message);
          }
        });
    TransportStream fromGrpc = new TransportStream(new byte[] {1, 2, 3});
    listener.onMessage(fromGrpc);
    fromGrpc.close(); // what gRPC does once onMessage returns
    TransportStream held = fromGrpc.detached.getFirst();
    assertSame(held, seen.getFirst());
    listener.onHalfClose(); // where the unary handler reads the request
    assertFalse(held.closed);
    assertEquals(3, held.readAllBytes().length);
    listener.onComplete();
    assertTrue(held.closed);
  }

  @Test
  void aCancelledCallReleasesItsRequestAndStreamsAreLeftAlone() {
    var unary = new HeldRequestBuffers(Set.of("test.Bulk/Call")).interceptCall(
        call(method(MethodDescriptor.MethodType.UNARY)), new Metadata(), (c, h) -> new ServerCall.Listener<>() {
        });
    TransportStream a = new TransportStream(new byte[8]);
    unary.onMessage(a);
    unary.onCancel();
    assertTrue(a.detached.getFirst().closed);

    var bidi = new HeldRequestBuffers(Set.of("test.Bulk/Call")).interceptCall(
        call(method(MethodDescriptor.MethodType.BIDI_STREAMING)), new Metadata(), (c, h) -> new ServerCall.Listener<>() {
        });
    TransportStream b = new TransportStream(new byte[8]);
    bidi.onMessage(b);
    assertTrue(b.detached.isEmpty(), "a stream's handler takes each message inside onMessage");
  }
}
