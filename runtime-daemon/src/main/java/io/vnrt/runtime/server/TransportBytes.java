package io.vnrt.runtime.server;

import com.google.protobuf.ByteString;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The bytes fields of requests parsed by {@link io.vnrt.client.internal.AliasingMarshaller}: ropes
 * of slices of the transport's buffers, valid until the handler's onMessage returns (streams) or
 * until the call ends (unary calls, whose buffers {@link HeldRequestBuffers} holds).
 */
final class TransportBytes {
  private TransportBytes() {
  }

  /**
   * The bytes as one segment an execution may hold after the message is gone: bytes already in a
   * heap array (in-process calls, typed contents) as they are, anything else copied once, which
   * also makes a rope contiguous.
   */
  static MemorySegment stable(ByteString data) {
    List<ByteBuffer> parts = data.asReadOnlyByteBufferList();
    if (parts.size() == 1 && !parts.getFirst().isDirect()) {
      return MemorySegment.ofBuffer(parts.getFirst());
    }
    byte[] copy = new byte[data.size()];
    data.copyTo(copy, 0);
    return MemorySegment.ofArray(copy);
  }
}
