package io.vnrt.runtime.memory;

import static io.vnrt.runtime.ByteSize.MiB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HbmPoolTest {
  private final HbmPool pool = new HbmPool(0, HbmBacking.anonymous(16 * MiB));

  @AfterEach
  void closePool() {
    pool.close();
  }

  private HbmBlock tensor(long size, String session, String client) throws HbmExhaustedException {
    return pool.allocate(size, MemoryCategory.TENSORS, session, client, -1, null, "tensor of " + size);
  }

  @Test
  void exhaustionNamesTheRequestTheFreeSpaceAndTheTopConsumers() throws Exception {
    for (int i = 0; i < 3; i++) {
      tensor(4 * MiB, "ab12cd", "svc");
    }
    tensor(MiB, "ef34gh", "batch");
    pool.allocate(MiB / 2, MemoryCategory.RUNTIME, "runtime", null, -1, null, "queue");
    pool.allocate(MiB / 4, MemoryCategory.TENSORS, "zz99", "tiny", -1, null, "scalar");

    HbmExhaustedException e = assertThrows(HbmExhaustedException.class, () ->
        pool.allocate(8 * MiB, MemoryCategory.TENSORS, "ef34gh", "batch", -1, null, "tensor 'x' float32[2048,1024]"));

    long free = 16 * MiB - 12 * MiB - MiB - MiB / 2 - MiB / 4;
    assertEquals(8 * MiB, e.requestedBytes());
    assertEquals(free, e.freeBytes());
    assertEquals(free, e.largestFreeBlockBytes());
    assertEquals(List.of("ab12cd", "ef34gh", "runtime"),
        e.topConsumers().stream().map(MemoryStats.OwnerUsage::ownerId).toList());
    assertEquals("device 0: cannot allocate 8.0 MiB for tensor 'x' float32[2048,1024]: 2.3 MiB free,"
        + " largest free block 2.3 MiB; top consumers: session ab12cd (client 'svc'), 12.0 MiB in 3 allocations;"
        + " session ef34gh (client 'batch'), 1.0 MiB in 1 allocation; runtime, 512.0 KiB in 1 allocation",
        e.getMessage());
  }

  @Test
  void exhaustionByFragmentationShowsASmallLargestBlock() throws Exception {
    HbmBlock[] blocks = new HbmBlock[16];
    for (int i = 0; i < 16; i++) {
      blocks[i] = tensor(MiB, "s", "c");
    }
    for (int i = 0; i < 16; i += 2) {
      blocks[i].close();
    }
    HbmExhaustedException e = assertThrows(HbmExhaustedException.class, () -> tensor(2 * MiB, "s", "c"));
    assertEquals(8 * MiB, e.freeBytes());
    assertEquals(MiB, e.largestFreeBlockBytes());
    assertTrue(e.getMessage().contains("8.0 MiB free, largest free block 1.0 MiB"), e.getMessage());
    assertEquals(1 - 1.0 / 8, pool.stats().fragmentation(), 1e-9);
  }

  @Test
  void statsAccountByCategoryOwnerCoreAndModelAndKeepThePeak() throws Exception {
    HbmBlock weights = pool.allocate(3 * MiB, MemoryCategory.WEIGHTS, "s1", "svc", 0, "resnet", "weights");
    pool.allocate(MiB, MemoryCategory.SCRATCH, "s1", "svc", 1, "resnet", "scratch");
    pool.allocate(100, MemoryCategory.TENSORS, "s2", "cli", 1, null, "tensor 'y'");
    pool.allocate(64, MemoryCategory.RUNTIME, "runtime", null, -1, null, "bookkeeping");

    MemoryStats before = pool.stats();
    assertEquals(4 * MiB + 128 + 64, before.usedBytes());
    assertEquals(Map.of(MemoryCategory.WEIGHTS, 3 * MiB, MemoryCategory.SCRATCH, MiB,
        MemoryCategory.TENSORS, 128L, MemoryCategory.RUNTIME, 64L), before.byCategory());
    assertEquals(List.of(new MemoryStats.OwnerUsage("s1", "svc", 4 * MiB, 2),
        new MemoryStats.OwnerUsage("s2", "cli", 128, 1),
        new MemoryStats.OwnerUsage("runtime", null, 64, 1)), before.byOwner());
    assertEquals(Map.of(0, 3 * MiB, 1, MiB + 128), before.byCore());
    assertEquals(Map.of("resnet", 4 * MiB), before.byModel());
    assertEquals(4, before.allocations());

    weights.close();
    MemoryStats after = pool.stats();
    assertEquals(MiB + 192, after.usedBytes());
    assertEquals(before.usedBytes(), after.peakUsedBytes());
    assertEquals(0L, after.byCategory().get(MemoryCategory.WEIGHTS));
    assertEquals(Map.of(1, MiB + 128), after.byCore());
    assertEquals(16 * MiB - after.usedBytes(), after.freeBytes());
    assertEquals(2, after.freeBlocks(), "the freed weights left a hole before the other blocks");
  }

  @Test
  void statsCanBeBuiltFromEmptyMaps() {
    MemoryStats empty = new MemoryStats(3, 64, 0, 0, 64, 64, 0, 0, 1, Map.of(), List.of(), Map.of(), Map.of(), -1);
    assertEquals(Map.of(), empty.byCategory());
  }

  @Test
  void aBlockIsAnAlignedSliceOfExactlyTheRequestedSize() throws Exception {
    HbmBlock first = tensor(10, "s", "c");
    HbmBlock second = tensor(100, "s", "c");
    assertEquals(10, first.segment().byteSize());
    assertEquals(64, first.alignedBytes());
    assertEquals(64, second.offset());
    assertEquals(128, second.alignedBytes());
    assertEquals(0, second.segment().address() % 64);
    assertEquals(0, second.deviceId());
  }

  @Test
  void closingABlockTwiceThrows() throws Exception {
    HbmBlock block = tensor(1000, "s", "c");
    block.close();
    assertTrue(block.isFreed());
    IllegalStateException e = assertThrows(IllegalStateException.class, block::close);
    assertTrue(e.getMessage().contains("already freed"), e.getMessage());
    assertEquals(0, pool.usedBytes());
  }

  @Test
  void leakReportListsHeldBlocksLargestFirst() throws Exception {
    HbmBlock small = pool.allocate(100, MemoryCategory.TENSORS, "ab12cd", "svc", -1, null, "tensor 'x'");
    pool.allocate(2 * MiB, MemoryCategory.WEIGHTS, "runtime", null, -1, "m", "weights of 'm'");
    String report = pool.leakReport();
    assertTrue(report.startsWith("leaked 2.0 MiB in 2 blocks: weights of 'm' (2.0 MiB at offset 0x80, runtime),"
        + " tensor 'x' (128 B at offset 0x0, session ab12cd)"), report);
    small.close();
    pool.close();
    assertTrue(pool.leakReport().startsWith("leaked 2.0 MiB in 1 block: weights of 'm'"), pool.leakReport());
    assertThrows(IllegalStateException.class, () -> tensor(64, "s", "c"));
  }

  @Test
  void freedMemoryReadsAsZeroWhenAllocatedAgain() throws Exception {
    for (long size : new long[] {1000, 5 * MiB + 12_345}) {
      HbmBlock block = tensor(size, "s", "c");
      block.segment().fill((byte) 0x5a);
      long offset = block.offset();
      block.close();
      HbmBlock again = tensor(size, "s", "c");
      assertEquals(offset, again.offset());
      assertEquals(-1, again.segment().mismatch(MemorySegment.ofArray(new byte[(int) size])), "size " + size);
      again.close();
    }
  }

  @Test
  void discardGivesFreedPagesBackToTheOs() throws Exception {
    HbmBlock block = tensor(8 * MiB, "s", "c");
    long idle = pool.stats().residentBytes();
    for (long offset = 0; offset < block.sizeBytes(); offset += 4096) {
      block.segment().set(ValueLayout.JAVA_BYTE, offset, (byte) 1);
    }
    long touched = pool.stats().residentBytes();
    assertTrue(touched - idle >= 8 * MiB, "writing 8 MiB should make it resident: " + idle + " -> " + touched);
    block.close();
    long freed = pool.stats().residentBytes();
    assertTrue(freed <= idle + 8192, "freeing should release the pages: " + touched + " -> " + freed);
  }

  @Test
  void closedPoolInvalidatesBlocksInsteadOfCrashing() throws Exception {
    HbmBlock block = tensor(64, "s", "c");
    pool.close();
    assertThrows(IllegalStateException.class, () -> block.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
    block.close(); // freeing after close is harmless
    assertFalse(pool.leakReport().contains("tensor of 64"));
  }

  @Test
  void smallBlocksFreedOneByOneGiveTheirPagesBackOnceTheyCoalesce() throws Exception {
    HbmBlock keep = tensor(MiB / 2, "s", "c");
    keep.segment().fill((byte) 0x3c);
    List<HbmBlock> small = new java.util.ArrayList<>();
    for (int i = 0; i < 96; i++) { // 6 MiB of 64 KiB blocks, each below the discard threshold
      HbmBlock b = tensor(64 * 1024, "s", "c");
      b.segment().fill((byte) (i + 1));
      small.add(b);
    }
    HbmBlock tail = tensor(MiB / 4, "s", "c"); // a live block after them, so they do not join the free tail
    tail.segment().fill((byte) 0x7e);
    long touched = pool.stats().residentBytes();
    assertTrue(touched >= 6 * MiB + 3 * MiB / 4, "written blocks are resident: " + touched);
    for (int i = 0; i < small.size(); i += 2) { // every other one first: the holes stay small, and dirty
      small.get(i).close();
    }
    assertTrue(pool.stats().residentBytes() >= touched - 64 * 1024, "holes below the threshold are only zeroed");
    for (int i = 1; i < small.size(); i += 2) {
      small.get(i).close();
    }
    long freed = pool.stats().residentBytes();
    assertTrue(freed <= MiB / 2 + MiB / 4 + 2 * Libc.PAGE_SIZE,
        "6 MiB coalesced from small blocks should leave RAM: " + touched + " -> " + freed);
    assertEquals(-1, keep.segment().mismatch(MemorySegment.ofArray(filled(MiB / 2, (byte) 0x3c))), "live data intact");
    assertEquals(-1, tail.segment().mismatch(MemorySegment.ofArray(filled(MiB / 4, (byte) 0x7e))), "live data intact");
    HbmBlock again = tensor(6 * MiB, "s", "c");
    assertEquals(keep.offset() + keep.alignedBytes(), again.offset());
    assertEquals(-1, again.segment().mismatch(MemorySegment.ofArray(new byte[(int) (6 * MiB)])), "reads as zero");
  }

  private static byte[] filled(long n, byte value) {
    byte[] b = new byte[(int) n];
    java.util.Arrays.fill(b, value);
    return b;
  }
}
