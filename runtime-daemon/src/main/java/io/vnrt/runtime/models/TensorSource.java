package io.vnrt.runtime.models;

import io.vnrt.runtime.kernels.DType;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** Where an execution input's bytes come from. */
public sealed interface TensorSource {

  /**
   * Bytes carried with the request (little-endian, row-major): read in place when they are native memory,
   * else copied once into native memory when the execution is bound (kernels that read heap and native
   * segments both are compiled slower for both).
   *
   * @param dtype element type
   * @param shape dimensions
   * @param data the bytes; must be exactly dtype size × element count
   */
  record Inline(DType dtype, long[] shape, MemorySegment data) implements TensorSource {
  }

  /**
   * Bytes carried with the request in several pieces (a transport's receive buffers), valid only until the
   * execution is bound (during {@code submit}): copied then, once, into native memory the execution holds until
   * it ends. The kernels read native memory at full speed; a heap array of bytes read as floats can cost them
   * several times more.
   *
   * @param dtype element type
   * @param shape dimensions
   * @param parts the bytes, in order; together exactly dtype size × element count
   */
  record Pieces(DType dtype, long[] shape, List<MemorySegment> parts) implements TensorSource {
    public Pieces {
      parts = List.copyOf(parts);
    }

    /** The pieces' total length. */
    public long byteSize() {
      long n = 0;
      for (MemorySegment p : parts) {
        n += p.byteSize();
      }
      return n;
    }
  }

  /**
   * A device tensor of the calling session, pinned while the execution reads it.
   *
   * @param handle the tensor's handle
   * @param dtype element type to read it as; null means the tensor's own
   * @param shape shape to read it as; null means the tensor's own
   */
  record DeviceTensor(String handle, DType dtype, long[] shape) implements TensorSource {
  }

  /**
   * Bytes in a registered shared-memory region of the calling session.
   *
   * @param region the region's name
   * @param offsetBytes offset in the region
   * @param lengthBytes length; must equal dtype size × element count
   * @param dtype element type
   * @param shape dimensions
   */
  record SharedMemory(String region, long offsetBytes, long lengthBytes, DType dtype, long[] shape)
      implements TensorSource {
  }
}
