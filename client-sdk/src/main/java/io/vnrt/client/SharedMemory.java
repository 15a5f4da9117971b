package io.vnrt.client;

import io.grpc.StatusRuntimeException;
import io.vnrt.client.internal.Errors;
import io.vnrt.proto.v1.RegisterSharedMemoryRequest;
import io.vnrt.proto.v1.SharedMemoryRegion;
import io.vnrt.proto.v1.UnregisterSharedMemoryRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A shared-memory region registered with the daemon: a file under /dev/shm both processes map, so
 * execution inputs and outputs pass without going through gRPC (same host only). Created by
 * {@link Session#createSharedMemory} it is also mapped here ({@link #segment()}) and its file is
 * removed at close; registered from an existing file it is only named. Closing unregisters it.
 */
public final class SharedMemory implements AutoCloseable {
  private final Session session;
  private final SharedMemoryRegion info;
  private final Arena arena;
  private final MemorySegment segment;
  private final Path ownedFile;
  private final AtomicBoolean closed = new AtomicBoolean();

  private SharedMemory(Session session, SharedMemoryRegion info, Arena arena, MemorySegment segment, Path ownedFile) {
    this.session = session;
    this.info = info;
    this.arena = arena;
    this.segment = segment;
    this.ownedFile = ownedFile;
  }

  /** Creates a file of {@code sizeBytes} under /dev/shm, maps it here and registers it as {@code name}. */
  static SharedMemory create(Session session, String name, long sizeBytes) {
    String key = "/vnrt-" + UUID.randomUUID();
    Path file = Path.of("/dev/shm", key.substring(1));
    Arena arena = Arena.ofShared();
    try {
      MemorySegment segment;
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
          StandardOpenOption.WRITE)) {
        ch.truncate(sizeBytes);
        ch.write(java.nio.ByteBuffer.allocate(1), sizeBytes - 1);
        segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, sizeBytes, arena);
      }
      return new SharedMemory(session, register(session, name, key, 0, sizeBytes), arena, segment, file);
    } catch (IOException | RuntimeException e) {
      arena.close();
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // nothing more to undo
      }
      if (e instanceof IOException io) {
        throw new UncheckedIOException("cannot create shared memory " + file + ": " + io.getMessage(), io);
      }
      throw (RuntimeException) e;
    }
  }

  /** Registers {@code [offset, offset + size)} of an existing /dev/shm file {@code key} ("/name"). */
  static SharedMemory existing(Session session, String name, String key, long offsetBytes, long sizeBytes) {
    return new SharedMemory(session, register(session, name, key, offsetBytes, sizeBytes), null, null, null);
  }

  private static SharedMemoryRegion register(Session session, String name, String key, long offset, long size) {
    try {
      return session.memoryBlocking().registerSharedMemory(RegisterSharedMemoryRequest.newBuilder().setName(name)
          .setKey(key).setOffsetBytes(offset).setSizeBytes(size).build());
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
  }

  /** The region's name in the session. */
  public String name() {
    return info.getName();
  }

  /** The file key ("/name" under /dev/shm). */
  public String key() {
    return info.getKey();
  }

  /** Size of the region in bytes. */
  public long sizeBytes() {
    return info.getSizeBytes();
  }

  /** The region mapped in this process (created regions only); valid until {@link #close()}. */
  public MemorySegment segment() {
    if (segment == null) {
      throw new IllegalStateException("region '" + name() + "' was registered from an existing file; map that file "
          + "yourself");
    }
    return segment;
  }

  /** Unregisters the region; a region this SDK created is also unmapped and its file removed. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      session.memoryBlocking().unregisterSharedMemory(UnregisterSharedMemoryRequest.newBuilder().setName(name())
          .build());
    } catch (StatusRuntimeException e) {
      RuntimeException mapped = Errors.translate(e);
      if (!(mapped instanceof NotFoundException) && !(mapped instanceof SessionClosedException)) {
        throw mapped;
      }
    } finally {
      if (arena != null) {
        arena.close();
      }
      if (ownedFile != null) {
        try {
          Files.deleteIfExists(ownedFile);
        } catch (IOException ignored) {
          // /dev/shm is cleaned at reboot; nothing else holds the file
        }
      }
    }
  }
}
