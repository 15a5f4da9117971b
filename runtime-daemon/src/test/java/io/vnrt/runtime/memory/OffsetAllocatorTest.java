package io.vnrt.runtime.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OffsetAllocatorTest {

  /** A free gap in the model, for checking the allocator's choice. */
  private record Gap(long offset, long size) {}

  /**
   * Random alloc/free sequences against a model (a sorted map of live blocks): the allocator must pick exactly
   * the best-fit gap the model computes, fail only when no gap fits, and keep its counters equal to the model's.
   */
  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 42, 2024})
  void randomSequencesMatchABestFitModel(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    OffsetAllocator allocator = new OffsetAllocator((1 << 20) + 100); // a capacity off the 64-byte grid
    long capacity = allocator.capacity();
    assertEquals((1 << 20) + 64, capacity, "the unaligned tail is left out");
    TreeMap<Long, Long> model = new TreeMap<>();
    long peak = 0;
    int failures = 0;

    for (int op = 0; op < 4000; op++) {
      boolean allocate = model.isEmpty() || random.nextInt(100) < 55;
      if (allocate) {
        long size = randomSize(random);
        long aligned = OffsetAllocator.align(size);
        Gap expected = bestFit(model, capacity, aligned);
        long offset = allocator.allocate(size);
        if (expected == null) {
          assertEquals(-1, offset, "op " + op + ": allocation of " + size + " should fail, no gap fits");
          failures++;
          continue;
        }
        assertEquals(expected.offset(), offset, "op " + op + ": best fit for " + size);
        assertEquals(0, offset % OffsetAllocator.ALIGNMENT);
        assertTrue(offset + aligned <= capacity, "in bounds");
        assertNoOverlap(model, offset, aligned);
        model.put(offset, aligned);
      } else {
        List<Long> offsets = new ArrayList<>(model.keySet());
        long victim = offsets.get(random.nextInt(offsets.size()));
        assertEquals(model.remove(victim), allocator.free(victim));
      }
      long used = model.values().stream().mapToLong(Long::longValue).sum();
      peak = Math.max(peak, used);
      List<Gap> gaps = gaps(model, capacity);
      OffsetAllocator.Usage usage = allocator.usage();
      assertEquals(used, usage.usedBytes(), "op " + op);
      assertEquals(capacity - used, usage.freeBytes(), "op " + op);
      assertEquals(peak, usage.peakUsedBytes(), "op " + op);
      assertEquals(model.size(), usage.allocations(), "op " + op);
      assertEquals(gaps.size(), usage.freeBlocks(), "op " + op + ": free blocks must be coalesced");
      assertEquals(gaps.stream().mapToLong(Gap::size).max().orElse(0), usage.largestFreeBlockBytes(), "op " + op);
    }
    assertTrue(failures > 0, "the sequence should also exercise exhaustion");

    for (long offset : new ArrayList<>(model.keySet())) {
      allocator.free(offset);
    }
    OffsetAllocator.Usage empty = allocator.usage();
    assertEquals(0, empty.usedBytes());
    assertEquals(1, empty.freeBlocks());
    assertEquals(capacity, empty.largestFreeBlockBytes());
    assertEquals(0, allocator.allocate(capacity), "the whole capacity is one block again");
  }

  /** Mostly small odd sizes, some medium, a few large enough to hit exhaustion in a 1 MiB space. */
  private static long randomSize(SplittableRandom random) {
    int kind = random.nextInt(100);
    if (kind < 70) {
      return 1 + random.nextInt(1000);
    }
    if (kind < 95) {
      return 1 + random.nextInt(40_000);
    }
    return 1 + random.nextInt(300_000);
  }

  private static List<Gap> gaps(TreeMap<Long, Long> live, long capacity) {
    List<Gap> gaps = new ArrayList<>();
    long cursor = 0;
    for (Map.Entry<Long, Long> block : live.entrySet()) {
      if (block.getKey() > cursor) {
        gaps.add(new Gap(cursor, block.getKey() - cursor));
      }
      cursor = block.getKey() + block.getValue();
    }
    if (cursor < capacity) {
      gaps.add(new Gap(cursor, capacity - cursor));
    }
    return gaps;
  }

  /** The smallest gap that fits, the lowest offset among equals: the allocator's documented choice. */
  private static Gap bestFit(TreeMap<Long, Long> live, long capacity, long aligned) {
    Gap best = null;
    for (Gap gap : gaps(live, capacity)) {
      if (gap.size() >= aligned && (best == null || gap.size() < best.size())) {
        best = gap;
      }
    }
    return best;
  }

  private static void assertNoOverlap(TreeMap<Long, Long> live, long offset, long size) {
    Map.Entry<Long, Long> before = live.floorEntry(offset);
    assertTrue(before == null || before.getKey() + before.getValue() <= offset, "overlaps the block before");
    Map.Entry<Long, Long> after = live.ceilingEntry(offset);
    assertTrue(after == null || offset + size <= after.getKey(), "overlaps the block after");
  }

  @Test
  void freeingMergesWithBothNeighbours() {
    OffsetAllocator allocator = new OffsetAllocator(64 * 4);
    long a = allocator.allocate(64);
    long b = allocator.allocate(64);
    long c = allocator.allocate(64);
    allocator.free(a);
    allocator.free(c); // c merges with the tail
    assertEquals(2, allocator.usage().freeBlocks());
    allocator.free(b); // b merges with a before and c+tail after
    assertEquals(1, allocator.usage().freeBlocks());
    assertEquals(64 * 4, allocator.usage().largestFreeBlockBytes());
  }

  @Test
  void sizesRoundUpToSixtyFourBytes() {
    OffsetAllocator allocator = new OffsetAllocator(1024);
    assertEquals(0, allocator.allocate(1));
    assertEquals(64, allocator.allocate(65));
    assertEquals(192, allocator.usage().usedBytes());
  }

  @Test
  void requestsLargerThanCapacityFailWithoutOverflow() {
    OffsetAllocator allocator = new OffsetAllocator(1024);
    assertEquals(-1, allocator.allocate(Long.MAX_VALUE));
    assertEquals(-1, allocator.allocate(1025));
  }

  @Test
  void freeingAnUnknownOffsetIsRejected() {
    OffsetAllocator allocator = new OffsetAllocator(1024);
    long offset = allocator.allocate(100);
    allocator.free(offset);
    assertThrows(IllegalArgumentException.class, () -> allocator.free(offset));
    assertThrows(IllegalArgumentException.class, () -> allocator.free(64));
    long live = allocator.allocate(100);
    assertThrows(IllegalArgumentException.class, () -> allocator.free(live + 1), "inside a live block");
    assertEquals(128, allocator.usage().usedBytes());
    assertThrows(IllegalArgumentException.class, () -> allocator.allocate(0));
  }

  /**
   * Random alloc/free sequences with a page discard: every discarded range is whole pages inside free space (no
   * live block touches it), and every page a block ever covered is, once free in a range at or above the
   * threshold, given back: when all is freed nothing is left dirty and each page ever allocated was discarded
   * since it was last freed.
   */
  @ParameterizedTest
  @ValueSource(longs = {1, 7, 42})
  void discardsOnlyFreePagesAndLeavesNoLargeRangeDirty(long seed) {
    long page = 4096;
    long threshold = 64 * page;
    TreeMap<Long, Long> live = new TreeMap<>();
    // Pages written since they were last discarded (a page of a live block counts as written).
    java.util.BitSet resident = new java.util.BitSet();
    long capacity = 1 << 22;
    OffsetAllocator allocator = new OffsetAllocator(capacity, page, threshold, (offset, length) -> {
      assertEquals(0, offset % page, "discard offset on a page boundary");
      assertEquals(0, length % page, "discard length a whole number of pages");
      assertTrue(offset >= 0 && offset + length <= capacity, "discard inside the capacity");
      Map.Entry<Long, Long> before = live.lowerEntry(offset + length);
      assertTrue(before == null || before.getKey() + before.getValue() <= offset,
          "discard [" + offset + ", " + (offset + length) + ") overlaps the live block at " + before);
      resident.clear((int) (offset / page), (int) ((offset + length) / page));
    });
    SplittableRandom random = new SplittableRandom(seed);
    List<Long> offsets = new ArrayList<>();
    for (int step = 0; step < 20_000; step++) {
      if (offsets.isEmpty() || (random.nextInt(100) < 55 && offsets.size() < 200)) {
        long size = 1 + (long) Math.exp(random.nextDouble(Math.log(16 * page)));
        long offset = allocator.allocate(size);
        if (offset >= 0) {
          long aligned = OffsetAllocator.align(size);
          live.put(offset, aligned);
          offsets.add(offset);
          resident.set((int) (offset / page), (int) ((offset + aligned + page - 1) / page));
        }
      } else {
        long offset = offsets.remove(random.nextInt(offsets.size()));
        live.remove(offset);
        allocator.free(offset);
      }
    }
    for (long offset : offsets) {
      live.remove(offset);
      allocator.free(offset);
    }
    assertEquals(0, allocator.dirtyFreeBytes(), "the whole capacity is free: no range is dirty");
    assertEquals(-1, resident.nextSetBit(0), "every page written was given back once all was freed");
  }
}
