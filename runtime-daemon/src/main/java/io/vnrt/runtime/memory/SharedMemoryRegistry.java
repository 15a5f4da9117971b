package io.vnrt.runtime.memory;

import io.vnrt.runtime.VnrtRuntimeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The shared-memory regions of one owner (a session), by name. Registering maps a regular file
 * under the shm directory; unregistering or {@link #close()} unmaps it once no execution uses it.
 */
public final class SharedMemoryRegistry implements AutoCloseable {
  /** Where clients create their files (shm_open's directory). */
  public static final Path DEV_SHM = Path.of("/dev/shm");
  /** Regions one owner may hold at once. */
  public static final int MAX_REGIONS = 1024;
  private static final int MAX_NAME_LENGTH = 256;

  private final Path root;
  private final Map<String, SharedMemoryRegion> regions = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /** Regions whose keys name files under {@code root} (normally {@link #DEV_SHM}). */
  public SharedMemoryRegistry(Path root) {
    this.root = root;
  }

  /**
   * Maps [offset, offset + size) of the file {@code key} ("/name" → root/name) under {@code name}.
   * INVALID_ARGUMENT for a bad name or key, a missing or non-regular file, or a range beyond the
   * file's end; PERMISSION_DENIED for a file {@code access} does not open to the caller or one of
   * the daemon's HBM pools; RESOURCE_EXHAUSTED past {@link #MAX_REGIONS}.
   */
  public SharedMemoryRegion register(String name, String key, long offsetBytes, long sizeBytes,
      SharedMemoryAccess access) {
    if (name == null || name.isBlank() || name.length() > MAX_NAME_LENGTH) {
      throw VnrtRuntimeException.invalid("a shared-memory region needs a name of 1 to " + MAX_NAME_LENGTH
          + " characters", "name", name == null ? "" : name);
    }
    Path file = resolve(key);
    if (offsetBytes < 0 || sizeBytes <= 0) {
      throw VnrtRuntimeException.invalid("region '" + name + "': size_bytes must be > 0 and offsets below 2^63; got "
          + Long.toUnsignedString(sizeBytes) + " bytes at offset " + Long.toUnsignedString(offsetBytes),
          "offset_bytes", Long.toUnsignedString(offsetBytes), "size_bytes", Long.toUnsignedString(sizeBytes));
    }
    if (regions.containsKey(name)) {
      throw VnrtRuntimeException.invalid("a shared-memory region named '" + name + "' is already registered in "
          + "this session; unregister it first or choose another name", "name", name);
    }
    if (regions.size() >= MAX_REGIONS) {
      throw VnrtRuntimeException.exhausted("this session already holds " + regions.size()
          + " shared-memory regions, the most allowed", Map.of("max_regions", String.valueOf(MAX_REGIONS)), null);
    }
    SharedMemoryRegion region = map(name, key, file, offsetBytes, sizeBytes, access);
    if (regions.putIfAbsent(name, region) != null) {
      region.unregister();
      throw VnrtRuntimeException.invalid("a shared-memory region named '" + name + "' is already registered in "
          + "this session", "name", name);
    }
    if (closed && regions.remove(name, region)) {
      region.unregister();
      throw VnrtRuntimeException.sessionClosed("the session is closed");
    }
    return region;
  }

  private Path resolve(String key) {
    if (key == null || !key.startsWith("/") || key.length() < 2) {
      throw VnrtRuntimeException.invalid("shared-memory key '" + key + "' must be '/name', as for shm_open",
          "key", String.valueOf(key));
    }
    String file = key.substring(1);
    if (file.contains("/") || file.equals("..") || file.equals(".") || file.contains("\0")) {
      throw VnrtRuntimeException.invalid("shared-memory key '" + key + "' must be '/name' with no other '/' and not "
          + "'.' or '..': it names a file directly under " + root, "key", key);
    }
    return root.resolve(file);
  }

  /**
   * Opens the file (never through a symbolic link), checks what was opened — a regular file, not one of this
   * daemon's HBM pools, owned by the caller or opened to all — and maps the range from that same descriptor, so a
   * name swapped between the check and the mapping cannot slip another file in.
   */
  // Native access is the point: fstat and mmap on one descriptor, which FileChannel does not expose.
  @SuppressWarnings("restricted")
  private static SharedMemoryRegion map(String name, String key, Path file, long offset, long size,
      SharedMemoryAccess access) {
    int fd = Libc.openReadWrite(file.toString());
    if (fd < 0) {
      String why = switch (Libc.errnoName(-fd)) {
        case "ENOENT" -> " does not exist; create it (shm_open) first";
        case "ELOOP" -> " is a symbolic link; give the file itself";
        case "EISDIR", "ENXIO", "ENODEV" -> " is not a regular file";
        case "EACCES", "EPERM" -> " cannot be opened read-write by the daemon (" + Libc.errnoName(-fd) + ")";
        default -> " cannot be opened (" + Libc.errnoName(-fd) + ")";
      };
      throw VnrtRuntimeException.invalid("shared-memory key '" + key + "': " + file + why, "key", key);
    }
    try {
      Libc.FileStat stat = Libc.fstat(fd);
      if (!stat.isRegularFile()) {
        throw VnrtRuntimeException.invalid("shared-memory key '" + key + "': " + file + " is not a regular file",
            "key", key);
      }
      if (PoolFiles.isPoolFile(stat.device(), stat.inode())) {
        throw VnrtRuntimeException.denied("shared-memory key '" + key + "': " + file + " is the daemon's own device"
            + " memory, which holds other sessions' data; register a file you created", "key", key);
      }
      if (!access.permits(file.getFileName().toString(), stat.ownerUid())) {
        throw VnrtRuntimeException.denied("shared-memory key '" + key + "': " + file + " belongs to user id "
            + stat.ownerUid() + ", not to the caller (" + access.describeCaller() + "); a client may map only files"
            + " its own user created, or names the daemon's --shm-allow opens to everyone", "key", key,
            "file_owner_uid", stat.ownerUid());
      }
      long fileSize = stat.sizeBytes();
      if (offset > fileSize || size > fileSize - offset) {
        throw VnrtRuntimeException.invalid("region '" + name + "' of " + size + " bytes at offset " + offset
            + " goes past the end of " + file + " (" + fileSize + " bytes)", "offset_bytes", offset,
            "size_bytes", size, "file_size_bytes", fileSize);
      }
      long pageStart = offset / Libc.PAGE_SIZE * Libc.PAGE_SIZE;
      long mappedBytes = size + (offset - pageStart);
      long address = Libc.mmapShared(fd, pageStart, mappedBytes);
      if (address < 0) {
        throw VnrtRuntimeException.invalid("shared-memory key '" + key + "': cannot map " + file + " (mmap: "
            + Libc.errnoName((int) -address) + ")", "key", key);
      }
      Arena arena = Arena.ofShared();
      MemorySegment mapping = MemorySegment.ofAddress(address)
          .reinterpret(mappedBytes, arena, unused -> Libc.munmap(address, mappedBytes));
      return new SharedMemoryRegion(name, key, file, offset, size, arena, mapping.asSlice(offset - pageStart, size));
    } finally {
      Libc.close(fd); // the mapping keeps the file; the descriptor is not needed past mmap
    }
  }

  /** Unregisters a region (unmapped once executions using it end); NOT_FOUND if unknown. */
  public SharedMemoryRegion unregister(String name) {
    SharedMemoryRegion region = regions.remove(name == null ? "" : name);
    if (region == null) {
      throw notFound(name);
    }
    region.unregister();
    return region;
  }

  /** The registered regions. */
  public List<SharedMemoryRegion> list() {
    return new ArrayList<>(regions.values());
  }

  /**
   * Pins [offset, offset + length) of a region for one operation. NOT_FOUND for an unknown region;
   * INVALID_ARGUMENT when the range is not inside it.
   */
  public SharedMemoryRegion.Pin pin(String name, long offsetBytes, long lengthBytes) {
    SharedMemoryRegion region = regions.get(name == null ? "" : name);
    if (region == null) {
      throw notFound(name);
    }
    if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes > region.sizeBytes()
        || lengthBytes > region.sizeBytes() - offsetBytes) {
      throw VnrtRuntimeException.invalid(Long.toUnsignedString(lengthBytes) + " bytes at offset "
          + Long.toUnsignedString(offsetBytes) + " are outside " + region, "region", region.name(),
          "offset_bytes", Long.toUnsignedString(offsetBytes), "length_bytes", Long.toUnsignedString(lengthBytes),
          "region_size_bytes", region.sizeBytes());
    }
    SharedMemoryRegion.Pin pin = region.pin(offsetBytes, lengthBytes);
    if (pin == null) {
      throw notFound(name);
    }
    return pin;
  }

  private static VnrtRuntimeException notFound(String name) {
    return VnrtRuntimeException.notFound("no shared-memory region named '" + name + "' is registered in this "
        + "session", "region", String.valueOf(name));
  }

  /** Unregisters every region (at session end); later registrations fail. */
  @Override
  public void close() {
    closed = true;
    for (String name : List.copyOf(regions.keySet())) {
      SharedMemoryRegion r = regions.remove(name);
      if (r != null) {
        r.unregister();
      }
    }
  }
}
