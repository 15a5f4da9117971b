package io.vnrt.runtime.memory;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sparse file mapped shared, typically on /dev/shm (so the pool's pages count against that tmpfs, as a container's
 * --shm-size expects). The file is created owner-only and unlinked as soon as it is mapped: no other process can
 * open it by name, and its pages go back to the OS when the daemon exits, however it exits. The descriptor stays
 * open for the backing's life, and the file's identity is recorded so shared-memory registration refuses it.
 */
final class FileBacking implements HbmBacking {
  private static final Logger log = LoggerFactory.getLogger(FileBacking.class);

  private final Path file;
  private final RandomAccessFile opened;
  private final PoolFiles.Identity identity;
  private final long capacityBytes;
  private final Arena arena;
  private final MemorySegment segment;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Set once MADV_REMOVE has failed, so that later discards zero-fill without retrying or logging again. */
  private volatile boolean cannotRemovePages;

  private FileBacking(Path file, RandomAccessFile opened, PoolFiles.Identity identity, long capacityBytes, Arena arena,
      MemorySegment segment) {
    this.file = file;
    this.opened = opened;
    this.identity = identity;
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
    RandomAccessFile raf = null;
    PoolFiles.Identity identity = null;
    try {
      raf = new RandomAccessFile(file.toFile(), "rw");
      Map<String, Object> attributes = Files.readAttributes(file, "unix:dev,ino", LinkOption.NOFOLLOW_LINKS);
      identity = new PoolFiles.Identity((Long) attributes.get("dev"), (Long) attributes.get("ino"));
      PoolFiles.add(identity);
      raf.setLength(capacityBytes); // ftruncate: sparse, no blocks until written
      MemorySegment segment = raf.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, capacityBytes, arena);
      Files.delete(file);
      return new FileBacking(file, raf, identity, capacityBytes, arena, segment);
    } catch (IOException | RuntimeException e) {
      arena.close();
      if (raf != null) {
        raf.close();
      }
      if (identity != null) {
        PoolFiles.remove(identity);
      }
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
    return "file " + file + " (unlinked once mapped)";
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    arena.close();
    try {
      opened.close();
    } catch (IOException e) {
      log.warn("could not close the HBM backing file {}: {}", file, e.toString());
    }
    PoolFiles.remove(identity);
  }
}
