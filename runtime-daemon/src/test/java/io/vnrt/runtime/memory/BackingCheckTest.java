package io.vnrt.runtime.memory;

import static io.vnrt.runtime.ByteSize.GiB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.ByteSize;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackingCheckTest {
  @TempDir
  Path tmp;

  @Test
  void fileBackingLargerThanTheFileStoreIsAnError() throws IOException {
    long usable = Files.getFileStore(tmp).getUsableSpace();
    long total = 2 * usable + 16 * GiB;
    String error = BackingCheck.fileError(tmp, total).orElseThrow();
    assertTrue(error.contains(ByteSize.format(total)), error);
    assertTrue(error.contains("usable"), error);
    assertTrue(error.contains("--shm-size=" + (ByteSize.ceilGiB(total) + 1) + "g"), error);
    assertTrue(error.contains("--hbm") && error.contains("--hbm-backing anonymous"), error);
  }

  @Test
  void fileBackingThatFitsIsFine() {
    assertEquals(Optional.empty(), BackingCheck.fileError(tmp, 1024 * 1024));
  }

  @Test
  void aMissingDirectoryIsAnError() {
    String error = BackingCheck.fileError(tmp.resolve("nope"), 1024).orElseThrow();
    assertTrue(error.contains("does not exist"), error);
  }

  /** A fake /proc and /sys/fs/cgroup, so each limit source is tested whatever the build machine runs under. */
  private Path fakeSystem(String selfCgroup) throws IOException {
    Files.createDirectories(tmp.resolve("proc/self"));
    Files.writeString(tmp.resolve("proc/meminfo"), "MemTotal:       24684084 kB\nMemFree:  1000 kB\n");
    Files.writeString(tmp.resolve("proc/self/cgroup"), selfCgroup);
    return tmp.resolve("proc");
  }

  @Test
  void cgroupV2LimitBelowTheHbmTotalWarns() throws IOException {
    Path proc = fakeSystem("0::/docker/abc\n");
    Path cgroup = Files.createDirectories(tmp.resolve("cgroup/docker/abc"));
    Files.writeString(cgroup.resolve("memory.max"), (8 * GiB) + "\n");
    Files.writeString(tmp.resolve("cgroup/docker/memory.max"), "max\n");

    String warning = BackingCheck.anonymousWarning(32 * GiB, proc, tmp.resolve("cgroup")).orElseThrow();
    assertTrue(warning.contains("32.0 GiB") && warning.contains("8.0 GiB"), warning);
    assertTrue(warning.contains("memory.max"), warning);
    assertTrue(warning.contains("--hbm") && warning.contains("--devices") && warning.contains("--memory=33g"),
        warning);
    assertEquals(Optional.empty(), BackingCheck.anonymousWarning(4 * GiB, proc, tmp.resolve("cgroup")));
  }

  @Test
  void aParentCgroupV1LimitApplies() throws IOException {
    Path proc = fakeSystem("5:cpu,cpuacct:/\n4:memory:/batch/job7\n0::/\n");
    Path memory = Files.createDirectories(tmp.resolve("cgroup/memory/batch/job7"));
    Files.writeString(memory.resolve("memory.limit_in_bytes"), "9223372036854771712\n");
    Files.writeString(tmp.resolve("cgroup/memory/batch/memory.limit_in_bytes"), (2 * GiB) + "\n");

    BackingCheck.MemoryLimit limit = BackingCheck.memoryLimit(proc, tmp.resolve("cgroup")).orElseThrow();
    assertEquals(2 * GiB, limit.bytes());
    assertTrue(limit.source().contains("cgroup v1 memory.limit_in_bytes"), limit.source());
  }

  @Test
  void withoutACgroupLimitMemTotalApplies() throws IOException {
    Path proc = fakeSystem("0::/\n");
    Files.createDirectories(tmp.resolve("cgroup"));
    Files.writeString(tmp.resolve("cgroup/memory.max"), "max\n");

    BackingCheck.MemoryLimit limit = BackingCheck.memoryLimit(proc, tmp.resolve("cgroup")).orElseThrow();
    assertEquals(24684084L * 1024, limit.bytes());
    assertTrue(BackingCheck.anonymousWarning(64 * GiB, proc, tmp.resolve("cgroup")).orElseThrow()
        .contains("MemTotal"));
  }

  @Test
  void theRealMachineHasSomeLimit() {
    assertTrue(BackingCheck.memoryLimit(Path.of("/proc"), Path.of("/sys/fs/cgroup")).isPresent());
    assertTrue(BackingCheck.anonymousWarning(Long.MAX_VALUE).isPresent());
  }
}
