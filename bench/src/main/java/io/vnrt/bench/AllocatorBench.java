package io.vnrt.bench;

import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmBlock;
import io.vnrt.runtime.memory.HbmExhaustedException;
import io.vnrt.runtime.memory.HbmPool;
import io.vnrt.runtime.memory.MemoryCategory;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Allocate-and-free throughput of an HBM pool against the JDK's own off-heap allocation, for the same size mix.
 * Each operation frees the oldest of a window of live allocations and allocates a new one in its place.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class AllocatorBench {
  /** Live allocations kept at any time, so the allocator works on a populated free list. */
  private static final int WINDOW = 64;
  private static final int MIX = 4096;
  private static final long MIN_SIZE = 64;

  /**
   * Largest size of the mix. At 1 MiB the zeroing of each block (both sides zero) dominates; at 4 KiB what is
   * left is mostly the allocator's own bookkeeping.
   */
  @Param({"1048576", "4096"})
  public long maxSize;

  private final long[] sizes = new long[MIX];
  private int next;

  private HbmPool pool;
  private final HbmBlock[] blocks = new HbmBlock[WINDOW];
  private final Arena[] sharedArenas = new Arena[WINDOW];
  private final Arena[] confinedArenas = new Arena[WINDOW];

  @Setup(Level.Trial)
  public void setUp() throws HbmExhaustedException {
    // Log-uniform between 64 B and maxSize: as many tiny tensors as large ones, from a fixed seed.
    SplittableRandom random = new SplittableRandom(42);
    double span = Math.log((double) maxSize / MIN_SIZE);
    for (int i = 0; i < MIX; i++) {
      sizes[i] = Math.round(MIN_SIZE * Math.exp(random.nextDouble() * span));
    }
    pool = new HbmPool(0, HbmBacking.anonymous(4L * WINDOW * maxSize));
    for (int i = 0; i < WINDOW; i++) {
      blocks[i] = pool.allocate(nextSize(), MemoryCategory.TENSORS, "bench", null, -1, null, "bench block");
      sharedArenas[i] = Arena.ofShared();
      sharedArenas[i].allocate(nextSize(), 64);
      confinedArenas[i] = Arena.ofConfined();
      confinedArenas[i].allocate(nextSize(), 64);
    }
  }

  private long nextSize() {
    return sizes[next++ & (MIX - 1)];
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    for (int i = 0; i < WINDOW; i++) {
      blocks[i].close();
      sharedArenas[i].close();
      confinedArenas[i].close();
    }
    pool.close();
  }

  /** HbmPool: best-fit over offsets in a mapping; the freed block is zeroed (or its pages discarded). */
  @Benchmark
  public HbmBlock hbmPool() throws HbmExhaustedException {
    int slot = next & (WINDOW - 1);
    blocks[slot].close();
    HbmBlock block = pool.allocate(nextSize(), MemoryCategory.TENSORS, "bench", null, -1, null, "bench block");
    blocks[slot] = block;
    return block;
  }

  /** The peer the brief names: a shared arena per allocation (malloc + zeroing, close handshakes all threads). */
  @Benchmark
  public Arena sharedArena() {
    int slot = next & (WINDOW - 1);
    sharedArenas[slot].close();
    Arena arena = Arena.ofShared();
    arena.allocate(nextSize(), 64);
    sharedArenas[slot] = arena;
    return arena;
  }

  /** The cheapest JDK peer: a confined arena per allocation (malloc + zeroing, no handshake on close). */
  @Benchmark
  public Arena confinedArena() {
    int slot = next & (WINDOW - 1);
    confinedArenas[slot].close();
    Arena arena = Arena.ofConfined();
    arena.allocate(nextSize(), 64);
    confinedArenas[slot] = arena;
    return arena;
  }
}
