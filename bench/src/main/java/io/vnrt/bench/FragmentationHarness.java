package io.vnrt.bench;

import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmBlock;
import io.vnrt.runtime.memory.HbmExhaustedException;
import io.vnrt.runtime.memory.HbmPool;
import io.vnrt.runtime.memory.MemoryCategory;
import io.vnrt.runtime.memory.MemoryStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A long random workload held near 90% occupancy of one pool, reporting how fragmented the free space ends up:
 * largest free block against free bytes. Arguments: [operations] [seed] [capacity MiB].
 */
public final class FragmentationHarness {
  private static final double TARGET_OCCUPANCY = 0.90;
  private static final long MIN_SIZE = 64;
  private static final long MAX_SIZE = 8L << 20;

  private FragmentationHarness() {}

  public static void main(String[] args) throws Exception {
    long operations = args.length > 0 ? Long.parseLong(args[0]) : 500_000;
    long seed = args.length > 1 ? Long.parseLong(args[1]) : 42;
    long capacity = (args.length > 2 ? Long.parseLong(args[2]) : 512) << 20;

    SplittableRandom random = new SplittableRandom(seed);
    double span = Math.log((double) MAX_SIZE / MIN_SIZE);
    List<HbmBlock> live = new ArrayList<>();
    long refused = 0;
    double worstFragmentation = 0;
    long start = System.nanoTime();
    try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(capacity))) {
      for (long op = 0; op < operations; op++) {
        if (pool.usedBytes() < TARGET_OCCUPANCY * capacity || live.isEmpty()) {
          long size = Math.round(MIN_SIZE * Math.exp(random.nextDouble() * span));
          try {
            live.add(pool.allocate(size, MemoryCategory.TENSORS, "harness", null, -1, null, "block"));
            continue;
          } catch (HbmExhaustedException e) {
            refused++; // free a block below instead, as a client would
          }
        }
        // Swap-remove a random live block: O(1), and the freeing order stays random.
        int victim = random.nextInt(live.size());
        HbmBlock block = live.get(victim);
        live.set(victim, live.getLast());
        live.removeLast();
        block.close();
        if (op % 1000 == 0) {
          worstFragmentation = Math.max(worstFragmentation, pool.stats().fragmentation());
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      MemoryStats stats = pool.stats();
      System.out.printf(Locale.ROOT, "operations %d (seed %d) in %.1f s, %.0f ns each%n", operations, seed, seconds,
          seconds * 1e9 / operations);
      System.out.printf(Locale.ROOT, "capacity %d MiB, sizes 64 B..8 MiB log-uniform, target occupancy %.0f%%%n",
          capacity >> 20, TARGET_OCCUPANCY * 100);
      System.out.printf(Locale.ROOT, "allocations refused %d (%.2f%% of operations)%n", refused,
          100.0 * refused / operations);
      System.out.printf(Locale.ROOT, "at the end: %d live blocks, used %.1f%%, free %d bytes in %d blocks%n",
          stats.allocations(), 100.0 * stats.usedBytes() / capacity, stats.freeBytes(), stats.freeBlocks());
      System.out.printf(Locale.ROOT, "largest free block / free bytes = %d / %d = %.3f (fragmentation %.3f,"
          + " worst sampled %.3f)%n", stats.largestFreeBlockBytes(), stats.freeBytes(),
          (double) stats.largestFreeBlockBytes() / stats.freeBytes(), stats.fragmentation(), worstFragmentation);
      for (HbmBlock block : live) {
        block.close();
      }
    }
  }
}
