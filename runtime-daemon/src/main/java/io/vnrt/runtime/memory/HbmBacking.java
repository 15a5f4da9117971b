package io.vnrt.runtime.memory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Where a pool's bytes come from: a lazily committed mapping, so a large device costs no memory until used.
 * Created once per device and closed at shutdown; closing invalidates every segment sliced from it.
 */
public sealed interface HbmBacking extends AutoCloseable permits AnonymousBacking, FileBacking {

  /**
   * An anonymous private mapping (mmap with MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE): pages are committed when
   * first written, so a 16 GiB pool costs no RSS until touched.
   *
   * @throws IllegalArgumentException if capacityBytes is not positive
   * @throws IllegalStateException if the kernel refuses the mapping (the message says why and what to change)
   */
  static HbmBacking anonymous(long capacityBytes) {
    return new AnonymousBacking(capacityBytes);
  }

  /**
   * A sparse file created in dir (e.g. /dev/shm) and mapped shared; the file is deleted on close. Check the
   * directory's room first with {@link BackingCheck#fileError}: writing past what a tmpfs can hold faults.
   */
  static HbmBacking file(Path dir, long capacityBytes) throws IOException {
    return FileBacking.create(dir, capacityBytes);
  }

  /** The whole mapping, capacityBytes long, page-aligned, usable from any thread until close. */
  MemorySegment segment();

  long capacityBytes();

  /**
   * Gives the pages of a range back to the OS; afterwards the range reads as zero. offset and length must be
   * multiples of the page size. Where the OS cannot release the pages, the range is zero-filled instead.
   */
  void discard(long offset, long length);

  /** Bytes of the mapping actually resident in memory (mincore), or -1 if unknown. */
  long residentBytes();

  /** Names the backing for logs and status, e.g. "anonymous mapping" or "file /dev/shm/vnrt-hbm-1234-5678". */
  String describe();

  /** Unmaps the backing (and deletes its file); idempotent. */
  @Override
  void close();
}
