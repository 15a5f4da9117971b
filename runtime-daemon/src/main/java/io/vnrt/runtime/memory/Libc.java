package io.vnrt.runtime.memory;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * The few Linux (x86-64, glibc) memory calls the JDK does not expose, bound with FFM downcalls. Failures come
 * back as values (an errno, or -1) rather than exceptions, so callers decide what a failure means.
 */
final class Libc {
  static final int PROT_READ = 0x1;
  static final int PROT_WRITE = 0x2;
  static final int MAP_SHARED = 0x01;
  static final int MAP_PRIVATE = 0x02;
  static final int MAP_ANONYMOUS = 0x20;
  static final int MAP_NORESERVE = 0x4000;
  static final int MADV_DONTNEED = 4;
  /** Frees a shared file mapping's range and its backing store (a hole punch on tmpfs). */
  static final int MADV_REMOVE = 9;
  private static final int SC_PAGESIZE = 30;
  /** open(2) flags: read-write, never through a symbolic link, not inherited, never blocking (a FIFO). */
  private static final int O_RDWR = 02;
  private static final int O_NONBLOCK = 04000;
  private static final int O_NOFOLLOW = 0400000;
  private static final int O_CLOEXEC = 02000000;
  private static final int S_IFMT = 0170000;
  private static final int S_IFREG = 0100000;
  /** struct stat on x86-64 Linux: 144 bytes; the fields read here are at these offsets. */
  private static final long STAT_BYTES = 144;
  private static final long ST_DEV = 0;
  private static final long ST_INO = 8;
  private static final long ST_MODE = 24;
  private static final long ST_UID = 28;
  private static final long ST_SIZE = 48;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

  private static final MethodHandle MMAP = downcall("mmap", true,
      FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
  private static final MethodHandle MUNMAP = downcall("munmap", true,
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
  private static final MethodHandle MADVISE = downcall("madvise", true,
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
  private static final MethodHandle MINCORE = downcall("mincore", false,
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
  private static final MethodHandle OPEN = downcall("open", true,
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
  private static final MethodHandle FSTAT = downcall("fstat", true,
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
  private static final MethodHandle CLOSE = downcall("close", false,
      FunctionDescriptor.of(JAVA_INT, JAVA_INT));
  private static final MethodHandle GETUID = downcall("getuid", false,
      FunctionDescriptor.of(JAVA_INT));
  private static final MethodHandle SYSCONF = downcall("sysconf", false,
      FunctionDescriptor.of(JAVA_LONG, JAVA_INT));

  static final long PAGE_SIZE = sysconf(SC_PAGESIZE);

  /** mincore is asked about at most this many bytes at a time, bounding its result vector to 256 KiB. */
  private static final long MINCORE_CHUNK = 1L << 30;

  private Libc() {}

  // Native access is this class's purpose; the JVMs we start pass --enable-native-access.
  @SuppressWarnings("restricted")
  private static MethodHandle downcall(String name, boolean captureErrno, FunctionDescriptor descriptor) {
    MemorySegment symbol = LINKER.defaultLookup().find(name)
        .orElseThrow(() -> new UnsupportedOperationException("libc has no " + name + "(); vnrt needs Linux"));
    return captureErrno
        ? LINKER.downcallHandle(symbol, descriptor, CAPTURE_ERRNO)
        : LINKER.downcallHandle(symbol, descriptor);
  }

  /**
   * Maps length bytes with mmap(NULL, length, prot, flags, -1, 0).
   *
   * @return the mapping's address, or minus errno when mmap returned MAP_FAILED
   */
  static long mmap(long length, int prot, int flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      MemorySegment address =
          (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, length, prot, flags, -1, 0L);
      return address.address() == -1L ? -errno(state) : address.address();
    } catch (Throwable t) {
      throw new AssertionError("mmap downcall failed", t);
    }
  }

  /**
   * Maps length bytes of the open file fd from offset (a multiple of the page size) with
   * mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_SHARED, fd, offset).
   *
   * @return the mapping's address, or minus errno when mmap returned MAP_FAILED
   */
  static long mmapShared(int fd, long offset, long length) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      MemorySegment address = (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, length,
          PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
      return address.address() == -1L ? -errno(state) : address.address();
    } catch (Throwable t) {
      throw new AssertionError("mmap downcall failed", t);
    }
  }

  /** What fstat says about an open file: its identity, type, owner and size. */
  record FileStat(long device, long inode, int mode, int ownerUid, long sizeBytes) {
    boolean isRegularFile() {
      return (mode & S_IFMT) == S_IFREG;
    }
  }

  /**
   * Opens path read-write without following a final symbolic link.
   *
   * @return the file descriptor, or minus errno
   */
  static int openReadWrite(String path) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      return fd >= 0 ? fd : -errno(state);
    } catch (Throwable t) {
      throw new AssertionError("open downcall failed", t);
    }
  }

  /** fstat of an open descriptor: the file actually opened, whatever its name points at now. */
  static FileStat fstat(int fd) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      MemorySegment stat = arena.allocate(STAT_BYTES, Long.BYTES);
      int rc = (int) FSTAT.invokeExact(state, fd, stat);
      if (rc != 0) {
        throw new IllegalStateException("fstat failed: " + errnoName(errno(state)));
      }
      return new FileStat(stat.get(JAVA_LONG, ST_DEV), stat.get(JAVA_LONG, ST_INO), stat.get(JAVA_INT, ST_MODE),
          stat.get(JAVA_INT, ST_UID), stat.get(JAVA_LONG, ST_SIZE));
    } catch (IllegalStateException e) {
      throw e;
    } catch (Throwable t) {
      throw new AssertionError("fstat downcall failed", t);
    }
  }

  static void close(int fd) {
    try {
      int unused = (int) CLOSE.invokeExact(fd);
    } catch (Throwable t) {
      throw new AssertionError("close downcall failed", t);
    }
  }

  /** The real user id of this process. */
  static int getuid() {
    try {
      return (int) GETUID.invokeExact();
    } catch (Throwable t) {
      throw new AssertionError("getuid downcall failed", t);
    }
  }

  static int munmap(long address, long length) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      int rc = (int) MUNMAP.invokeExact(state, MemorySegment.ofAddress(address), length);
      return rc == 0 ? 0 : errno(state);
    } catch (Throwable t) {
      throw new AssertionError("munmap downcall failed", t);
    }
  }

  static int madvise(long address, long length, int advice) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      int rc = (int) MADVISE.invokeExact(state, MemorySegment.ofAddress(address), length, advice);
      return rc == 0 ? 0 : errno(state);
    } catch (Throwable t) {
      throw new AssertionError("madvise downcall failed", t);
    }
  }

  /**
   * Counts the resident bytes of a page-aligned mapping with mincore.
   *
   * @return resident bytes, or -1 if mincore failed
   */
  static long residentBytes(MemorySegment mapping) {
    long pages = 0;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment vector = arena.allocate(Math.min(MINCORE_CHUNK, mapping.byteSize()) / PAGE_SIZE + 1, Long.BYTES);
      for (long offset = 0; offset < mapping.byteSize(); offset += MINCORE_CHUNK) {
        long length = Math.min(MINCORE_CHUNK, mapping.byteSize() - offset);
        MemorySegment address = MemorySegment.ofAddress(mapping.address() + offset);
        int rc = (int) MINCORE.invokeExact(address, length, vector);
        if (rc != 0) {
          return -1;
        }
        pages += countResident(vector, (length + PAGE_SIZE - 1) / PAGE_SIZE);
      }
    } catch (Throwable t) {
      throw new AssertionError("mincore downcall failed", t);
    }
    return pages * PAGE_SIZE;
  }

  /** mincore sets bit 0 of one byte per page; count eight pages per long read. */
  private static long countResident(MemorySegment vector, long pageCount) {
    long count = 0;
    long i = 0;
    for (; i + Long.BYTES <= pageCount; i += Long.BYTES) {
      count += Long.bitCount(vector.get(ValueLayout.JAVA_LONG_UNALIGNED, i) & 0x0101010101010101L);
    }
    for (; i < pageCount; i++) {
      count += vector.get(ValueLayout.JAVA_BYTE, i) & 1;
    }
    return count;
  }

  /** Checks that [offset, offset + length) lies within a mapping of capacityBytes and on page boundaries. */
  static void checkPageRange(long offset, long length, long capacityBytes) {
    Objects.checkFromIndexSize(offset, length, capacityBytes);
    if (offset % PAGE_SIZE != 0 || length % PAGE_SIZE != 0) {
      throw new IllegalArgumentException("range [" + offset + ", +" + length
          + ") is not aligned to the " + PAGE_SIZE + "-byte page size");
    }
  }

  private static long sysconf(int name) {
    try {
      return (long) SYSCONF.invokeExact(name);
    } catch (Throwable t) {
      throw new AssertionError("sysconf downcall failed", t);
    }
  }

  private static int errno(MemorySegment state) {
    return (int) ERRNO.get(state, 0L);
  }

  /** The symbolic name of the errno values these calls are documented to return. */
  static String errnoName(int errno) {
    return switch (errno) {
      case 1 -> "EPERM";
      case 2 -> "ENOENT";
      case 6 -> "ENXIO";
      case 19 -> "ENODEV";
      case 21 -> "EISDIR";
      case 40 -> "ELOOP";
      case 9 -> "EBADF";
      case 11 -> "EAGAIN";
      case 12 -> "ENOMEM";
      case 13 -> "EACCES";
      case 14 -> "EFAULT";
      case 22 -> "EINVAL";
      case 95 -> "EOPNOTSUPP";
      default -> "errno " + errno;
    };
  }
}
