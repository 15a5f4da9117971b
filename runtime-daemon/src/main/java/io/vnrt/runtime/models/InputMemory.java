package io.vnrt.runtime.models;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Native memory for execution inputs copied out of a transport's buffers ({@link TensorSource.Pieces}) or off
 * the heap ({@link TensorSource.Inline}), kept for
 * the next executions rather than freed: a fresh 64 MiB mapping per request cost its page faults, the kernel's
 * zeroing of every page and the unmapping, together more than the copy itself. At most {@link #KEPT_BYTES} are
 * kept; a buffer is handed out again only for an input of at least half its size, sliced to that input, whose
 * copy overwrites every byte the execution can see.
 */
final class InputMemory {
  /** Bytes kept for reuse, at most: two 64 MiB inputs in flight. */
  static final long KEPT_BYTES = 128L << 20;
  /** Buffers kept, at most (each take scans them). */
  static final int KEPT_BUFFERS = 64;
  /** Buffers are made in multiples of this, so that inputs of nearby sizes share them. */
  private static final long GRAIN = 1 << 20;
  /** The smallest buffer made. */
  private static final long MIN_BYTES = 4096;

  static final InputMemory SHARED = new InputMemory();

  private final List<Buffer> free = new ArrayList<>();
  private long keptBytes;

  /** One buffer, with the arena that frees it. */
  private record Buffer(Arena arena, MemorySegment segment) {
  }

  /** {@code bytes} of native memory (contents unspecified) until the lease is closed, once. */
  Lease take(long bytes) {
    Buffer b = null;
    synchronized (this) {
      int best = -1;
      for (int i = 0; i < free.size(); i++) {
        long capacity = free.get(i).segment().byteSize();
        if (capacity >= bytes && capacity / 2 <= bytes
            && (best < 0 || capacity < free.get(best).segment().byteSize())) {
          best = i;
        }
      }
      if (best >= 0) {
        b = free.remove(best);
        keptBytes -= b.segment().byteSize();
      }
    }
    if (b == null) {
      Arena arena = Arena.ofShared();
      long capacity = capacity(bytes);
      b = new Buffer(arena, arena.allocate(capacity, 64));
    }
    return new Lease(b, bytes);
  }

  /**
   * The size of a new buffer for {@code bytes}: a power of two from 4 KiB below {@link #GRAIN} (the small
   * inputs every execution of a small model copies here, so each finds the last one's buffer: a buffer serves
   * inputs of at least half its size), whole multiples of it above.
   */
  static long capacity(long bytes) {
    if (bytes >= GRAIN) {
      return (bytes + GRAIN - 1) / GRAIN * GRAIN;
    }
    return Math.max(MIN_BYTES, Long.highestOneBit(Math.max(1, bytes - 1)) << 1);
  }

  private void give(Buffer b) {
    synchronized (this) {
      if (keptBytes + b.segment().byteSize() <= KEPT_BYTES && free.size() < KEPT_BUFFERS) {
        free.add(b);
        keptBytes += b.segment().byteSize();
        return;
      }
    }
    b.arena().close();
  }

  /** A buffer in use; closing it gives it back (or frees it). */
  final class Lease implements AutoCloseable {
    private final Buffer buffer;
    private final MemorySegment segment;
    private boolean closed;

    private Lease(Buffer buffer, long bytes) {
      this.buffer = buffer;
      this.segment = buffer.segment().asSlice(0, bytes);
    }

    MemorySegment segment() {
      return segment;
    }

    @Override
    public void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
      }
      give(buffer);
    }
  }
}
