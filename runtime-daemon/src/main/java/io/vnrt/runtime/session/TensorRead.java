package io.vnrt.runtime.session;

import java.lang.foreign.MemorySegment;

/**
 * One streamed read of a tensor range, handed out chunk by chunk so the caller can follow its
 * transport's flow control. Holds a pin until closed: freeing the tensor meanwhile kills its
 * handle at once, but the read still completes and the memory returns to the pool afterwards.
 */
public final class TensorRead implements AutoCloseable {
  private final Tensor.Pin pin;
  private final MemorySegment segment;
  private final long end;
  private final long chunkBytes;
  private long next;

  TensorRead(Tensor.Pin pin, long offset, long end, long chunkBytes) {
    this.pin = pin;
    this.segment = pin.segment();
    this.next = offset;
    this.end = end;
    this.chunkBytes = chunkBytes;
  }

  /**
   * One chunk: a view of the tensor's memory, valid only until the read is closed.
   *
   * @param offset offset of the chunk in the tensor
   * @param data the bytes
   */
  public record Chunk(long offset, MemorySegment data) {
  }

  /** The tensor read. */
  public Tensor tensor() {
    return pin.tensor();
  }

  /** True while bytes remain. */
  public boolean hasNext() {
    return next < end;
  }

  /** The next chunk (at most chunkBytes). */
  public Chunk next() {
    long n = Math.min(chunkBytes, end - next);
    Chunk chunk = new Chunk(next, segment.asSlice(next, n));
    next += n;
    return chunk;
  }

  /** Releases the pin; idempotent. */
  @Override
  public void close() {
    pin.close();
  }
}
