package io.vnrt.runtime.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.ByteSize;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class HbmPoolConcurrencyTest {
  private static final int THREADS = 8;
  private static final int ITERATIONS = 1500;
  private static final int WINDOW = 4;
  private static final long MAX_SMALL = 64 * 1024;

  /**
   * Eight threads allocate, write their id, check it and free, keeping a few blocks live each so that their
   * blocks interleave. A block that overlapped another, or memory not zeroed on free, would show up as a pattern
   * mismatch; at the end the pool must be empty and fully coalesced.
   */
  @Test
  void threadsNeverSeeEachOthersBytes() throws Exception {
    // Small enough that threads hit exhaustion and must free to go on; 3 MiB blocks take the discard path.
    try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(16 * ByteSize.MiB))) {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Integer>> results = new ArrayList<>();
      try (ExecutorService executor = Executors.newFixedThreadPool(THREADS)) {
        for (int t = 0; t < THREADS; t++) {
          int id = t + 1;
          results.add(executor.submit(() -> {
            start.await();
            return run(pool, id);
          }));
        }
        start.countDown();
        int exhausted = 0;
        for (Future<Integer> result : results) {
          exhausted += result.get(60, TimeUnit.SECONDS);
        }
        assertTrue(exhausted > 0, "the workload should run the pool out at times");
      }
      MemoryStats stats = pool.stats();
      assertEquals(0, stats.usedBytes());
      assertEquals(0, stats.allocations());
      assertEquals(1, stats.freeBlocks());
      assertEquals(pool.capacityBytes(), stats.largestFreeBlockBytes());
      assertEquals("", pool.leakReport());
    }
  }

  /** Returns how many allocations found the pool exhausted. */
  private static int run(HbmPool pool, int id) throws InterruptedException {
    SplittableRandom random = new SplittableRandom(id);
    MemorySegment pattern = MemorySegment.ofArray(new byte[(int) (4 * ByteSize.MiB)]).fill((byte) id);
    MemorySegment zeros = MemorySegment.ofArray(new byte[(int) (4 * ByteSize.MiB)]);
    ArrayDeque<HbmBlock> held = new ArrayDeque<>();
    int exhausted = 0;
    for (int i = 0; i < ITERATIONS; i++) {
      long size = random.nextInt(50) == 0 ? 3 * ByteSize.MiB + random.nextInt(5000) : 1 + random.nextLong(MAX_SMALL);
      HbmBlock block;
      try {
        block = pool.allocate(size, MemoryCategory.TENSORS, "thread-" + id, null, id, null, "test block");
      } catch (HbmExhaustedException e) {
        exhausted++;
        if (!held.isEmpty()) {
          release(held.removeFirst(), pattern);
        } else {
          Thread.sleep(1); // every block is held by others; let them free some
        }
        continue;
      }
      MemorySegment memory = block.segment();
      assertEquals(-1, memory.mismatch(zeros.asSlice(0, size)), "a new block must read as zero");
      memory.copyFrom(pattern.asSlice(0, size));
      held.addLast(block);
      if (held.size() > WINDOW) {
        release(held.removeFirst(), pattern);
      }
    }
    while (!held.isEmpty()) {
      release(held.removeFirst(), pattern);
    }
    return exhausted;
  }

  private static void release(HbmBlock block, MemorySegment pattern) {
    assertEquals(-1, block.segment().mismatch(pattern.asSlice(0, block.sizeBytes())),
        "another thread wrote into " + block);
    block.close();
  }
}
