package io.vnrt.runtime.memory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Test directories under /dev/shm where there is one (tmpfs, as in production), else the temp dir. */
final class ShmTestDirs {
  private ShmTestDirs() {}

  static Path create() throws IOException {
    Path shm = Path.of("/dev/shm");
    return Files.isDirectory(shm) && Files.isWritable(shm)
        ? Files.createTempDirectory(shm, "vnrt-test-")
        : Files.createTempDirectory("vnrt-test-");
  }
}
