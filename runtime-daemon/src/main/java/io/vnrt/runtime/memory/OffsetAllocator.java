package io.vnrt.runtime.memory;

import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Best-fit allocation of 64-byte-aligned offsets in [0, capacity), with freed blocks coalesced with their free
 * neighbours at once. Every operation is O(log n) in the number of free blocks; thread-safe.
 *
 * <p>With a {@link PageDiscard}, a free that leaves a free range of at least the discard threshold gives the
 * range's pages that may still be resident back to the OS before the lock is released (so no one can have
 * allocated them meanwhile): small blocks freed one by one then do not keep their pages committed forever
 * once they coalesce into a large hole. A free range smaller than the threshold is marked dirty (its pages
 * may be resident); one at or above it never is, so the pages given back per free are those of the freed
 * block and of dirty neighbours, each below the threshold.
 */
final class OffsetAllocator {
  /** Alignment of every offset and size: a cache line, and enough for any vector load. */
  static final long ALIGNMENT = 64;

  /** Gives whole pages back to the OS; afterwards they read as zero. Called with the allocator's lock held. */
  @FunctionalInterface
  interface PageDiscard {
    void discard(long offset, long length);
  }

  /**
   * A free range; ordered (in freeBySize) by size then offset, so the first block at least as large as a request
   * is the best fit. dirty: some of its pages may be resident (it was never part of a range that was discarded).
   */
  private record FreeBlock(long offset, long size, boolean dirty) {}

  private static final Comparator<FreeBlock> BY_SIZE =
      Comparator.comparingLong(FreeBlock::size).thenComparingLong(FreeBlock::offset);

  private final long capacity;
  private final long pageSize;
  private final long discardThreshold;
  private final PageDiscard discard;
  private final ReentrantLock lock = new ReentrantLock();
  // All of the following are guarded by lock.
  private final TreeMap<Long, FreeBlock> freeByOffset = new TreeMap<>();
  private final NavigableSet<FreeBlock> freeBySize = new TreeSet<>(BY_SIZE);
  /** Aligned sizes of live blocks, keyed by {@link #slot} of their offset. */
  private final Map<Long, Long> allocated = new HashMap<>();
  private long usedBytes;
  /** Written under lock; volatile so that metrics read it without taking the lock. */
  private volatile long peakUsedBytes;

  /** A consistent snapshot of the allocator's counters. */
  record Usage(long capacity, long usedBytes, long peakUsedBytes, long freeBytes, long largestFreeBlockBytes,
      int freeBlocks, int allocations) {}

  /**
   * Manages [0, capacity) with capacity rounded down to a multiple of 64: every block, the last one included,
   * then has an aligned size, so a request for the whole capacity can succeed.
   */
  OffsetAllocator(long capacity) {
    this(capacity, ALIGNMENT, Long.MAX_VALUE, (offset, length) -> { });
  }

  /**
   * As above; a free that leaves a free range of at least discardThreshold bytes passes the whole pages
   * (pageSize, a power of two) of that range which may be resident to discard. The range [0, capacity) starts
   * out clean (never touched).
   */
  OffsetAllocator(long capacity, long pageSize, long discardThreshold, PageDiscard discard) {
    if (capacity < ALIGNMENT) {
      throw new IllegalArgumentException("capacity must be at least " + ALIGNMENT + " bytes, got " + capacity);
    }
    if (pageSize <= 0 || Long.bitCount(pageSize) != 1) {
      throw new IllegalArgumentException("page size must be a power of two, got " + pageSize);
    }
    this.capacity = capacity & -ALIGNMENT;
    this.pageSize = pageSize;
    this.discardThreshold = discardThreshold;
    this.discard = discard;
    addFree(0, this.capacity, false);
  }

  /** The size actually reserved for a request of size bytes. */
  static long align(long size) {
    return (size + ALIGNMENT - 1) & -ALIGNMENT;
  }

  /**
   * A hash key for an offset. Offsets are multiples of 64, and Long.hashCode keeps those zero low bits, which
   * crowds them into a few buckets of a hash map; offset / 64 spreads them evenly.
   */
  static long slot(long offset) {
    return offset >>> 6;
  }

  long capacity() {
    return capacity;
  }

  /**
   * Reserves align(size) bytes.
   *
   * @return the offset, a multiple of {@link #ALIGNMENT}, or -1 if no free block is large enough
   */
  long allocate(long size) {
    if (size <= 0) {
      throw new IllegalArgumentException("size must be positive, got " + size);
    }
    if (size > capacity) {
      return -1; // also keeps align() from overflowing
    }
    long aligned = align(size);
    lock.lock();
    try {
      FreeBlock fit = freeBySize.ceiling(new FreeBlock(Long.MIN_VALUE, aligned, false));
      if (fit == null) {
        return -1;
      }
      removeFree(fit);
      if (fit.size() > aligned) {
        addFree(fit.offset() + aligned, fit.size() - aligned, fit.dirty());
      }
      allocated.put(slot(fit.offset()), aligned);
      usedBytes += aligned;
      peakUsedBytes = Math.max(peakUsedBytes, usedBytes);
      return fit.offset();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the block at offset to the free space, merged with any free neighbour.
   *
   * @return the aligned size that was freed
   * @throws IllegalArgumentException if no block is allocated at offset
   */
  long free(long offset) {
    Long size = null;
    lock.lock();
    try {
      // An offset off the grid would share a slot with the block it falls in; it was never allocated.
      if (offset % ALIGNMENT == 0) {
        size = allocated.remove(slot(offset));
      }
      if (size != null) {
        long start = offset;
        long end = offset + size;
        // The part that may be resident: the freed block and its dirty neighbours (contiguous with it).
        long dirtyStart = start;
        long dirtyEnd = end;
        Map.Entry<Long, FreeBlock> before = freeByOffset.lowerEntry(offset);
        if (before != null && before.getKey() + before.getValue().size() == offset) {
          FreeBlock b = before.getValue();
          removeFree(b);
          start = b.offset();
          dirtyStart = b.dirty() ? start : dirtyStart;
        }
        FreeBlock after = freeByOffset.get(end);
        if (after != null) {
          removeFree(after);
          end += after.size();
          dirtyEnd = after.dirty() ? end : dirtyEnd;
        }
        boolean dirty = end - start < discardThreshold;
        if (!dirty) {
          // Whole pages inside the free range that touch the dirty part; the pages at the range's ends are
          // shared with live blocks and stay (their free bytes were zeroed when freed).
          long pagesStart = Math.max(roundUp(start), dirtyStart & -pageSize);
          long pagesEnd = Math.min(end & -pageSize, roundUp(dirtyEnd));
          if (pagesEnd > pagesStart) {
            discard.discard(pagesStart, pagesEnd - pagesStart);
          }
        }
        addFree(start, end - start, dirty);
        usedBytes -= size;
      }
    } finally {
      lock.unlock();
    }
    if (size == null) {
      throw new IllegalArgumentException("no block is allocated at offset " + offset);
    }
    return size;
  }

  Usage usage() {
    lock.lock();
    try {
      long largest = freeBySize.isEmpty() ? 0 : freeBySize.last().size();
      return new Usage(capacity, usedBytes, peakUsedBytes, capacity - usedBytes, largest, freeByOffset.size(),
          allocated.size());
    } finally {
      lock.unlock();
    }
  }

  /** The most bytes ever in use at once, read without the lock. */
  long peakUsedBytes() {
    return peakUsedBytes;
  }

  long usedBytes() {
    lock.lock();
    try {
      return usedBytes;
    } finally {
      lock.unlock();
    }
  }

  private long roundUp(long offset) {
    return (offset + pageSize - 1) & -pageSize;
  }

  /** Bytes in free ranges whose pages may be resident (below the discard threshold), for tests and status. */
  long dirtyFreeBytes() {
    lock.lock();
    try {
      return freeByOffset.values().stream().filter(FreeBlock::dirty).mapToLong(FreeBlock::size).sum();
    } finally {
      lock.unlock();
    }
  }

  private void addFree(long offset, long size, boolean dirty) {
    FreeBlock block = new FreeBlock(offset, size, dirty);
    freeByOffset.put(offset, block);
    freeBySize.add(block);
  }

  private void removeFree(FreeBlock block) {
    freeByOffset.remove(block.offset());
    freeBySize.remove(block);
  }
}
