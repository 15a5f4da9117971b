package io.vnrt.runtime.session;

import io.vnrt.runtime.VnrtRuntimeException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * One streamed write into a tensor: chunks must arrive contiguous and in order, inside the
 * tensor, and add up to the announced total. Each chunk is copied straight into HBM; nothing is
 * buffered. Holds a pin until closed.
 */
public final class TensorWrite implements AutoCloseable {
  private final Tensor.Pin pin;
  private final long start;
  private final long totalBytes;
  private long next;

  TensorWrite(Tensor.Pin pin, long start, long totalBytes) {
    this.pin = pin;
    this.start = start;
    this.totalBytes = totalBytes;
    this.next = start;
  }

  /** The tensor written. */
  public Tensor tensor() {
    return pin.tensor();
  }

  /** Copies one chunk at {@code offset}; INVALID_ARGUMENT if out of order or out of bounds. */
  public void chunk(long offset, ByteBuffer data) {
    chunk(offset, List.of(data));
  }

  /** Writes one chunk given as consecutive pieces (a message's bytes as the transport received them). */
  public void chunk(long offset, List<ByteBuffer> pieces) {
    Tensor t = pin.tensor();
    if (!t.isLive()) {
      throw VnrtRuntimeException.notFound("tensor " + Session.shortHandle(t.handle())
          + " was freed during the write", "handle", t.handle());
    }
    if (offset != next) {
      String what = Long.compareUnsigned(offset, next) < 0
          ? "repeats bytes already written (a duplicate chunk)"
          : "leaves a gap after the bytes written so far";
      throw VnrtRuntimeException.invalid("chunk at offset " + Long.toUnsignedString(offset) + " " + what
          + ": the next chunk must start at offset " + next + "; chunks must be contiguous and in order",
          "offset_bytes", Long.toUnsignedString(offset), "expected_offset_bytes", next);
    }
    long length = 0;
    for (ByteBuffer piece : pieces) {
      length += piece.remaining();
    }
    if (length > t.sizeBytes() - offset) {
      throw VnrtRuntimeException.invalid("write of " + length + " bytes at offset " + offset
          + " goes past the end of " + t.describe() + " of " + t.sizeBytes() + " bytes", "offset_bytes", offset,
          "length_bytes", length, "size_bytes", t.sizeBytes());
    }
    if (totalBytes > 0 && offset + length - start > totalBytes) {
      throw VnrtRuntimeException.invalid("the stream announced total_bytes " + totalBytes + " but sends more: "
          + (offset + length - start) + " bytes so far", "total_bytes", totalBytes);
    }
    long at = offset;
    for (ByteBuffer piece : pieces) {
      long n = piece.remaining();
      MemorySegment.copy(MemorySegment.ofBuffer(piece), 0, pin.segment(), at, n);
      at += n;
    }
    next += length;
  }

  /** The total announced by the first message, or 0. */
  public long totalBytes() {
    return totalBytes;
  }

  /** Bytes written so far. */
  public long bytesWritten() {
    return next - start;
  }

  /** Ends the write: INVALID_ARGUMENT if fewer bytes than total_bytes arrived; returns the bytes written. */
  public long finish() {
    if (totalBytes > 0 && bytesWritten() != totalBytes) {
      throw VnrtRuntimeException.invalid("the stream ended after " + bytesWritten() + " bytes but announced "
          + "total_bytes " + totalBytes, "total_bytes", totalBytes, "bytes_written", bytesWritten());
    }
    return bytesWritten();
  }

  /** Releases the pin; idempotent. */
  @Override
  public void close() {
    pin.close();
  }
}
