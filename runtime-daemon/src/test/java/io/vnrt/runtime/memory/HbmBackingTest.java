package io.vnrt.runtime.memory;

import static io.vnrt.runtime.ByteSize.GiB;
import static io.vnrt.runtime.ByteSize.MiB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HbmBackingTest {
  private Path dir;

  /** Under /dev/shm where there is one, as in production, so MADV_REMOVE is exercised on tmpfs. */
  @BeforeEach
  void createDir() throws IOException {
    dir = ShmTestDirs.create();
  }

  @AfterEach
  void deleteDir() throws IOException {
    try (var files = Files.list(dir)) {
      for (Path file : files.toList()) {
        Files.delete(file);
      }
    }
    Files.delete(dir);
  }

  @Test
  void twoSixteenGibPoolsCostNoMemoryUntilTouched() throws Exception {
    long rssBefore = vmRssBytes();
    List<HbmBlock> blocks = new ArrayList<>();
    try (HbmPool first = new HbmPool(0, HbmBacking.anonymous(16 * GiB));
        HbmPool second = new HbmPool(1, HbmBacking.anonymous(16 * GiB))) {
      for (HbmPool pool : List.of(first, second)) {
        for (int i = 0; i < 4; i++) {
          blocks.add(pool.allocate(4 * GiB, MemoryCategory.WEIGHTS, "s", "c", i, "m", "weights " + i));
        }
        assertEquals(16 * GiB, pool.usedBytes());
        assertTrue(pool.stats().residentBytes() < MiB, "untouched HBM is not resident");
      }
      long growth = vmRssBytes() - rssBefore;
      assertTrue(growth < 50 * MiB, "32 GiB of allocated HBM grew RSS by " + growth + " bytes");
      for (HbmBlock block : blocks) {
        block.close();
      }
      growth = vmRssBytes() - rssBefore;
      assertTrue(growth < 50 * MiB, "freeing 32 GiB of HBM grew RSS by " + growth + " bytes");
    }
  }

  private static long vmRssBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
      }
    }
    throw new AssertionError("no VmRSS in /proc/self/status");
  }

  @Test
  void anImpossibleMappingFailsWithAClearMessage() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> HbmBacking.anonymous(1L << 60));
    assertTrue(e.getMessage().contains("cannot map 1.0 EiB of anonymous memory for HBM: mmap failed with ENOMEM"),
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> HbmBacking.anonymous(0));
  }

  @Test
  void fileBackingIsASparseFileUnlinkedOnceMapped() throws Exception {
    HbmBacking backing = HbmBacking.file(dir, 64 * MiB);
    try (var names = Files.list(dir)) {
      assertEquals(List.of(), names.toList(), "no name reaches the pool's file: " + backing.describe());
    }
    assertEquals(64 * MiB, backing.segment().byteSize());
    assertTrue(backing.residentBytes() < MiB, "a new backing file is sparse");

    backing.segment().asSlice(0, 8 * MiB).fill((byte) 7);
    assertTrue(backing.residentBytes() >= 8 * MiB);
    backing.discard(4096, 8 * MiB - 4096);
    assertEquals(7, backing.segment().get(ValueLayout.JAVA_BYTE, 4095), "outside the range stays");
    assertEquals(0, backing.segment().get(ValueLayout.JAVA_BYTE, 4096), "a discarded range reads as zero");
    assertEquals(0, backing.segment().get(ValueLayout.JAVA_BYTE, 8 * MiB - 1));

    backing.close();
    backing.close();
  }

  @Test
  void discardRejectsRangesOffPageBoundaries() {
    try (HbmBacking backing = HbmBacking.anonymous(MiB)) {
      assertThrows(IllegalArgumentException.class, () -> backing.discard(64, 4096));
      assertThrows(IndexOutOfBoundsException.class, () -> backing.discard(0, 2 * MiB));
    }
  }
}
