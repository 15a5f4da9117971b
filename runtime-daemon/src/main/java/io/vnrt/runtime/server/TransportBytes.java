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
   * Inputs at least this large that arrived in the transport's buffers are copied into native memory when the
   * execution is bound ({@link TensorSource.Pieces}) rather than into a heap array here: no garbage, and the
   * kernels read native memory at full speed (a 64 MiB ReduceSum over a heap array took 7 times longer). Smaller
   * ones are copied into a heap array here, which outlives the transport's buffers, and from it into native
   * memory when the execution is bound (as every heap input is: BoundExecution).
   */
  static final long NATIVE_INPUT_BYTES = 1 << 20;

  /**
   * An execution input of these bytes, valid for a request whose execution is submitted (and so bound) while the
   * transport's buffers are held: in place when they are one heap array, copied into native memory at bind time
   * when they are large, else copied into a heap array now.
   */
  static TensorSource input(DType dtype, long[] shape, ByteString data) {
    List<ByteBuffer> parts = data.asReadOnlyByteBufferList();
    if (data.size() < NATIVE_INPUT_BYTES || (parts.size() == 1 && !parts.getFirst().isDirect())) {
      return new TensorSource.Inline(dtype, shape, stable(data));
    }
    List<MemorySegment> segments = new ArrayList<>(parts.size());
    for (ByteBuffer b : parts) {
      segments.add(MemorySegment.ofBuffer(b));
    }
    return new TensorSource.Pieces(dtype, shape, segments);
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
