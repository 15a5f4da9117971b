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
 */
final class OffsetAllocator {
  /** Alignment of every offset and size: a cache line, and enough for any vector load. */
  static final long ALIGNMENT = 64;

  /** A free range; ordered by size then offset, so the first block at least as large as a request is the best fit. */
  private record FreeBlock(long offset, long size) {}

  private static final Comparator<FreeBlock> BY_SIZE =
      Comparator.comparingLong(FreeBlock::size).thenComparingLong(FreeBlock::offset);

  private final long capacity;
  private final ReentrantLock lock = new ReentrantLock();
  // All of the following are guarded by lock.
  private final TreeMap<Long, Long> freeByOffset = new TreeMap<>();
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
    if (capacity < ALIGNMENT) {
      throw new IllegalArgumentException("capacity must be at least " + ALIGNMENT + " bytes, got " + capacity);
    }
    this.capacity = capacity & -ALIGNMENT;
    addFree(0, this.capacity);
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
      FreeBlock fit = freeBySize.ceiling(new FreeBlock(Long.MIN_VALUE, aligned));
      if (fit == null) {
        return -1;
      }
      removeFree(fit);
      if (fit.size() > aligned) {
        addFree(fit.offset() + aligned, fit.size() - aligned);
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
        long length = size;
        Map.Entry<Long, Long> before = freeByOffset.lowerEntry(offset);
        if (before != null && before.getKey() + before.getValue() == offset) {
          removeFree(new FreeBlock(before.getKey(), before.getValue()));
          start = before.getKey();
          length += before.getValue();
        }
        Long after = freeByOffset.get(offset + size);
        if (after != null) {
          removeFree(new FreeBlock(offset + size, after));
          length += after;
        }
        addFree(start, length);
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

  private void addFree(long offset, long size) {
    freeByOffset.put(offset, size);
    freeBySize.add(new FreeBlock(offset, size));
  }

  private void removeFree(FreeBlock block) {
    freeByOffset.remove(block.offset());
    freeBySize.remove(block);
  }
}
