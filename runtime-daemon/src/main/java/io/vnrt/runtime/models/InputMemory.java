package io.vnrt.runtime.models;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Native memory for execution inputs copied out of a transport's buffers ({@link TensorSource.Pieces}), kept for
 * the next executions rather than freed: a fresh 64 MiB mapping per request cost its page faults, the kernel's
 * zeroing of every page and the unmapping, together more than the copy itself. At most {@link #KEPT_BYTES} are
 * kept; a buffer is handed out again only for an input of at least half its size, sliced to that input, whose
 * copy overwrites every byte the execution can see.
 */
final class InputMemory {
  /** Bytes kept for reuse, at most: two 64 MiB inputs in flight. */
  static final long KEPT_BYTES = 128L << 20;
  /** Buffers are made in multiples of this, so that inputs of nearby sizes share them. */
  private static final long GRAIN = 1 << 20;

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
      long capacity = Math.max(GRAIN, (bytes + GRAIN - 1) / GRAIN * GRAIN);
      b = new Buffer(arena, arena.allocate(capacity, 64));
    }
    return new Lease(b, bytes);
  }

  private void give(Buffer b) {
    synchronized (this) {
      if (keptBytes + b.segment().byteSize() <= KEPT_BYTES) {
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
