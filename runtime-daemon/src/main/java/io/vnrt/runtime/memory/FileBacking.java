package io.vnrt.runtime.memory;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A sparse file mapped shared, typically on /dev/shm, so the pool's pages are visible as a file to tools. */
final class FileBacking implements HbmBacking {
  private static final Logger log = LoggerFactory.getLogger(FileBacking.class);

  private final Path file;
  private final long capacityBytes;
  private final Arena arena;
  private final MemorySegment segment;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Set once MADV_REMOVE has failed, so that later discards zero-fill without retrying or logging again. */
  private volatile boolean cannotRemovePages;

  private FileBacking(Path file, long capacityBytes, Arena arena, MemorySegment segment) {
    this.file = file;
    this.capacityBytes = capacityBytes;
    this.arena = arena;
    this.segment = segment;
  }

  static FileBacking create(Path dir, long capacityBytes) throws IOException {
    if (capacityBytes <= 0) {
      throw new IllegalArgumentException("HBM capacity must be positive, got " + capacityBytes);
    }
    // createTempFile makes the file readable by its owner only: HBM contents are other sessions' data.
    Path file = Files.createTempFile(dir, "vnrt-hbm-" + ProcessHandle.current().pid() + "-", "");
    Arena arena = Arena.ofShared();
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(capacityBytes); // ftruncate: sparse, no blocks until written
      MemorySegment segment = raf.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, capacityBytes, arena);
      return new FileBacking(file, capacityBytes, arena, segment);
    } catch (IOException | RuntimeException e) {
      arena.close();
      Files.deleteIfExists(file);
      throw e;
    }
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
    if (length == 0) {
      return;
    }
    if (!cannotRemovePages) {
      int errno = Libc.madvise(segment.address() + offset, length, Libc.MADV_REMOVE);
      if (errno == 0) {
        return;
      }
      cannotRemovePages = true;
      log.warn("{}: the file system cannot release freed HBM pages (madvise MADV_REMOVE: {}); freed memory"
          + " stays resident and is zero-filled instead", describe(), Libc.errnoName(errno));
    }
    segment.asSlice(offset, length).fill((byte) 0);
  }

  @Override
  public long residentBytes() {
    return closed.get() ? -1 : Libc.residentBytes(segment);
  }

  @Override
  public String describe() {
    return "file " + file;
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    arena.close();
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      log.warn("could not delete the HBM backing file {}: {}", file, e.toString());
    }
  }
}
