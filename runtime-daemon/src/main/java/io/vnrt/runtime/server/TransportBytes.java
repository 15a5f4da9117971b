package io.vnrt.runtime.server;

import com.google.protobuf.ByteString;
import java.lang.foreign.MemorySegment;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.models.TensorSource;
import java.nio.ByteBuffer;
import java.util.ArrayList;
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
   * An execution input of these bytes, valid for a request whose execution is submitted (and so bound) while the
   * transport's buffers are held: in place when they are one heap array (in-process calls, typed contents; the
   * binding copies it into native memory), else the transport's pieces, copied once into native memory when the
   * execution is bound ({@link TensorSource.Pieces}): the kernels only ever read native memory (a 64 MiB ReduceSum
   * over a heap array took 7 times longer, and kernels that have seen heap segments are compiled slower).
   */
  static TensorSource input(DType dtype, long[] shape, ByteString data) {
    List<ByteBuffer> parts = data.asReadOnlyByteBufferList();
    if (parts.size() == 1 && !parts.getFirst().isDirect()) {
      return new TensorSource.Inline(dtype, shape, MemorySegment.ofBuffer(parts.getFirst()));
    }
    List<MemorySegment> segments = new ArrayList<>(parts.size());
    for (ByteBuffer b : parts) {
      segments.add(MemorySegment.ofBuffer(b));
    }
    return new TensorSource.Pieces(dtype, shape, segments);
  }
}
