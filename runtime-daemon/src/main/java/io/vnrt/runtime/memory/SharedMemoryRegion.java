package io.vnrt.runtime.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A client-created file under /dev/shm mapped read-write into the daemon. The mapping lives in its
 * own shared arena, unmapped when the region is unregistered and the last {@link Pin} is closed, so
 * an execution using the region never sees it vanish.
 */
public final class SharedMemoryRegion {
  private final String name;
  private final String key;
  private final Path file;
  private final long offsetBytes;
  private final long sizeBytes;
  private final Arena arena;
  private final MemorySegment segment;
  /** 1 for the registration plus one per pin; the arena closes when it reaches 0. */
  private final AtomicInteger refs = new AtomicInteger(1);

  SharedMemoryRegion(String name, String key, Path file, long offsetBytes, long sizeBytes, Arena arena,
      MemorySegment segment) {
    this.name = name;
    this.key = key;
    this.file = file;
    this.offsetBytes = offsetBytes;
    this.sizeBytes = sizeBytes;
    this.arena = arena;
    this.segment = segment;
  }

  /** Name the session uses for the region. */
  public String name() {
    return name;
  }

  /** The file key as given ("/name"). */
  public String key() {
    return key;
  }

  /** The mapped file. */
  public Path file() {
    return file;
  }

  /** Where the region starts in the file. */
  public long offsetBytes() {
    return offsetBytes;
  }

  /** Size of the region. */
  public long sizeBytes() {
    return sizeBytes;
  }

  /** Holds the mapping open for one operation; null once the region is unmapped. */
  Pin pin(long offset, long length) {
    for (;;) {
      int n = refs.get();
      if (n == 0) {
        return null;
      }
      if (refs.compareAndSet(n, n + 1)) {
        return new Pin(segment.asSlice(offset, length));
      }
    }
  }

  /** Drops the registration's reference. */
  void unregister() {
    release();
  }

  private void release() {
    if (refs.decrementAndGet() == 0) {
      arena.close();
    }
  }

  @Override
  public String toString() {
    return "shared-memory region '" + name + "' (" + key + ", " + sizeBytes + " bytes at offset " + offsetBytes + ")";
  }

  /** Part of a region held mapped for one execution; close exactly once when done. */
  public final class Pin implements AutoCloseable {
    private final MemorySegment slice;
    private final AtomicInteger open = new AtomicInteger(1);

    private Pin(MemorySegment slice) {
      this.slice = slice;
    }

    /** The bytes asked for; valid until {@link #close()}. */
    public MemorySegment segment() {
      return slice;
    }

    /** The region. */
    public SharedMemoryRegion region() {
      return SharedMemoryRegion.this;
    }

    @Override
    public void close() {
      if (open.getAndSet(0) == 1) {
        release();
      }
    }
  }
}
