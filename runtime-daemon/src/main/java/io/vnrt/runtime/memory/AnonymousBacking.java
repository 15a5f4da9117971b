package io.vnrt.runtime.memory;

import io.vnrt.runtime.ByteSize;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/** An anonymous private mapping; MAP_NORESERVE keeps the kernel from charging the whole capacity up front. */
final class AnonymousBacking implements HbmBacking {
  private final long capacityBytes;
  private final Arena arena;
  private final MemorySegment segment;
  private final AtomicBoolean closed = new AtomicBoolean();

  // Native access is this class's purpose: reinterpret gives mmap's bare address the mapping's size.
  @SuppressWarnings("restricted")
  AnonymousBacking(long capacityBytes) {
    if (capacityBytes <= 0) {
      throw new IllegalArgumentException("HBM capacity must be positive, got " + capacityBytes);
    }
    long address = Libc.mmap(capacityBytes, Libc.PROT_READ | Libc.PROT_WRITE,
        Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE);
    if (address < 0) {
      throw new IllegalStateException(mapFailure(capacityBytes, (int) -address));
    }
    this.capacityBytes = capacityBytes;
    // A shared arena: blocks are used from many threads, and closing it makes later access fail cleanly
    // instead of touching unmapped memory.
    this.arena = Arena.ofShared();
    this.segment = MemorySegment.ofAddress(address)
        .reinterpret(capacityBytes, arena, unused -> Libc.munmap(address, capacityBytes));
  }

  private static String mapFailure(long capacityBytes, int errno) {
    String advice = errno == 12
        ? "the address space is exhausted or the kernel refuses to overcommit (vm.overcommit_memory=2 ignores"
            + " MAP_NORESERVE); lower --hbm or --devices, or use --hbm-backing file"
        : "lower --hbm or use --hbm-backing file";
    return "cannot map " + ByteSize.format(capacityBytes) + " of anonymous memory for HBM: mmap failed with "
        + Libc.errnoName(errno) + "; " + advice;
  }

  @Override
  public MemorySegment segment() {
    return segment;
  }

  @Override
  public long capacityBytes() {
    return capacityBytes;
  }

  @Override
  public void discard(long offset, long length) {
    Libc.checkPageRange(offset, length, capacityBytes);
    // MADV_DONTNEED on a private anonymous mapping drops the pages; the next touch maps a zero page.
    if (length > 0 && Libc.madvise(segment.address() + offset, length, Libc.MADV_DONTNEED) != 0) {
      segment.asSlice(offset, length).fill((byte) 0);
    }
  }

  @Override
  public long residentBytes() {
    return closed.get() ? -1 : Libc.residentBytes(segment);
  }

  @Override
  public String describe() {
    return "anonymous mapping";
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      arena.close();
    }
  }
}
