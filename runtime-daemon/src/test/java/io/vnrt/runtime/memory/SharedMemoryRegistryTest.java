package io.vnrt.runtime.memory;

import static io.vnrt.runtime.ByteSize.MiB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.VnrtRuntimeException;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Who may map what: the daemon's HBM is never a client's region, and a file only for the user who owns it. */
class SharedMemoryRegistryTest {
  private static final int OTHER_UID = 54321;

  private Path dir;
  private SharedMemoryRegistry registry;
  private final SharedMemoryAccess self = new SharedMemoryAccess(OptionalInt.of(SharedMemoryAccess.daemonUid()),
      List.of());

  @BeforeEach
  void createDir() throws IOException {
    dir = ShmTestDirs.create();
    registry = new SharedMemoryRegistry(dir);
  }

  @AfterEach
  void deleteDir() throws IOException {
    registry.close();
    try (var files = Files.list(dir)) {
      for (Path file : files.toList()) {
        Files.delete(file);
      }
    }
    Files.delete(dir);
  }

  private Path file(String name, int bytes) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, new byte[bytes]);
    return file;
  }

  @Test
  void aPoolFileIsNeitherVisibleNorRegistrableAndIsCreatedOwnerOnly() throws Exception {
    try (HbmPool pool = new HbmPool(0, HbmBacking.file(dir, 4 * MiB))) {
      HbmBlock secret = pool.allocate(4096, MemoryCategory.TENSORS, "b", "victim", -1, null, "tensor 'secret'");
      secret.segment().set(ValueLayout.JAVA_LONG, 0, 0x5EC2E7L);
      try (var names = Files.list(dir)) {
        List<Path> visible = names.toList();
        assertEquals(List.of(), visible, "the pool's file has no name another session could register");
      }
      secret.close();
    }
  }

  @Test
  void theDaemonsOwnPoolIsRefusedByIdentityWhateverItsName() throws Exception {
    // A pool file reached through any name (a hard link made before it was unlinked, say) is still refused:
    // the check is on the device and inode of the file opened, not on the name.
    Path link = file("innocent-name", 8192);
    var attributes = Files.readAttributes(link, "unix:dev,ino");
    PoolFiles.Identity identity = new PoolFiles.Identity((Long) attributes.get("dev"), (Long) attributes.get("ino"));
    PoolFiles.add(identity);
    try {
      VnrtRuntimeException e = assertThrows(VnrtRuntimeException.class,
          () -> registry.register("r", "/innocent-name", 0, 4096, self));
      assertEquals(VnrtRuntimeException.Kind.PERMISSION_DENIED, e.kind());
      assertTrue(e.getMessage().contains("the daemon's own device memory"), e.getMessage());
    } finally {
      PoolFiles.remove(identity);
    }
    assertEquals(4096, registry.register("r", "/innocent-name", 0, 4096, self).sizeBytes());
  }

  @Test
  void aFileOfAnotherUserIsRefusedUnlessShmAllowNamesIt() throws Exception {
    Path other = file("triton_other_app", 8192);
    Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rw-------"));
    Files.setAttribute(other, "unix:uid", OTHER_UID);
    VnrtRuntimeException e = assertThrows(VnrtRuntimeException.class,
        () -> registry.register("r", "/triton_other_app", 0, 4096, self));
    assertEquals(VnrtRuntimeException.Kind.PERMISSION_DENIED, e.kind());
    assertTrue(e.getMessage().contains("belongs to user id " + OTHER_UID), e.getMessage());
    assertEquals(Map.of("key", "/triton_other_app", "file_owner_uid", String.valueOf(OTHER_UID)), e.context());

    assertEquals(4096, registry.register("r", "/triton_other_app", 0, 4096,
        new SharedMemoryAccess(OptionalInt.empty(), List.of("triton_*"))).sizeBytes());
  }

  @Test
  void aCallerWithNoProvenUserMapsOnlyWhatShmAllowOpens() throws Exception {
    file("mine", 4096);
    SharedMemoryAccess remote = new SharedMemoryAccess(OptionalInt.empty(), List.of("shared-*"));
    VnrtRuntimeException e = assertThrows(VnrtRuntimeException.class,
        () -> registry.register("r", "/mine", 0, 4096, remote));
    assertEquals(VnrtRuntimeException.Kind.PERMISSION_DENIED, e.kind());
    assertTrue(e.getMessage().contains("cannot tell"), e.getMessage());
  }

  @Test
  void theRangeIsMappedFromTheFileOpenedAtAnyOffset() throws Exception {
    Path data = file("data", 3 * 4096);
    byte[] bytes = new byte[3 * 4096];
    bytes[4096 + 100] = 42;
    Files.write(data, bytes);
    SharedMemoryRegion region = registry.register("r", "/data", 4096 + 100, 10, self);
    try (SharedMemoryRegion.Pin pin = registry.pin("r", 0, 10)) {
      assertEquals(42, pin.segment().get(ValueLayout.JAVA_BYTE, 0));
      pin.segment().set(ValueLayout.JAVA_BYTE, 1, (byte) 7);
    }
    assertEquals(7, Files.readAllBytes(data)[4096 + 101], "writes reach the file");
    assertEquals(10, region.sizeBytes());
    Files.createSymbolicLink(dir.resolve("link"), data);
    VnrtRuntimeException e = assertThrows(VnrtRuntimeException.class,
        () -> registry.register("s", "/link", 0, 10, self));
    assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
    e = assertThrows(VnrtRuntimeException.class, () -> registry.register("s", "/absent", 0, 10, self));
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
  }
}
