package io.vnrt.runtime.memory;

import io.vnrt.runtime.ByteSize;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Start-up check: can the chosen backing hold the configured HBM? Says so clearly at start rather than letting
 * the daemon be killed (anonymous backing) or fault (a full tmpfs) once the devices fill up.
 */
public final class BackingCheck {
  private static final Path PROC = Path.of("/proc");
  private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");

  private BackingCheck() {}

  /** The memory this process may use, and where that figure came from. */
  record MemoryLimit(long bytes, String source) {}

  /**
   * For anonymous backing: compares totalCapacityBytes with the memory available to the process (the cgroup
   * limit, v2 memory.max or v1 memory.limit_in_bytes, else MemTotal) and returns a warning if it exceeds it.
   */
  public static Optional<String> anonymousWarning(long totalCapacityBytes) {
    return anonymousWarning(totalCapacityBytes, PROC, CGROUP_ROOT);
  }

  static Optional<String> anonymousWarning(long totalCapacityBytes, Path proc, Path cgroupRoot) {
    Optional<MemoryLimit> found = memoryLimit(proc, cgroupRoot);
    if (found.isEmpty() || totalCapacityBytes <= found.get().bytes()) {
      return Optional.empty();
    }
    MemoryLimit limit = found.get();
    return Optional.of("HBM of all devices totals " + ByteSize.format(totalCapacityBytes)
        + " but this process may use only " + ByteSize.format(limit.bytes()) + " (" + limit.source() + "). Pages"
        + " are committed only when written, so the daemon starts, but filling the devices will get it killed"
        + " for lack of memory. Lower --hbm or --devices, or raise the container memory limit (e.g. docker run"
        + " --memory=" + (ByteSize.ceilGiB(totalCapacityBytes) + 1) + "g, HBM plus room for the JVM).");
  }

  /**
   * For a file backing in dir: compares totalCapacityBytes with the usable space of dir's file store and returns
   * an error if it exceeds it, or if dir cannot be used at all.
   */
  public static Optional<String> fileError(Path dir, long totalCapacityBytes) {
    if (!Files.isDirectory(dir)) {
      return Optional.of("HBM backing directory " + dir + " does not exist or is not a directory; pass an"
          + " existing directory (e.g. /dev/shm) or use --hbm-backing anonymous.");
    }
    long usable;
    try {
      usable = Files.getFileStore(dir).getUsableSpace();
    } catch (IOException e) {
      return Optional.of("cannot tell how much room HBM backing directory " + dir + " has (" + e.getMessage()
          + "); pass another directory or use --hbm-backing anonymous.");
    }
    if (totalCapacityBytes <= usable) {
      return Optional.empty();
    }
    return Optional.of("HBM backing directory " + dir + " has " + ByteSize.format(usable) + " usable but the"
        + " devices' HBM totals " + ByteSize.format(totalCapacityBytes) + ", so writing to them would fault once"
        + " it fills. Give it more room (in a container: docker run --shm-size="
        + (ByteSize.ceilGiB(totalCapacityBytes) + 1) + "g, HBM plus room for clients' shared-memory regions),"
        + " lower --hbm or --devices, or use --hbm-backing anonymous.");
  }

  /** The tightest of the cgroup limits on the path from the process's cgroups to the root, and MemTotal. */
  static Optional<MemoryLimit> memoryLimit(Path proc, Path cgroupRoot) {
    Optional<MemoryLimit> best = memTotal(proc.resolve("meminfo"));
    for (String line : readLines(proc.resolve("self/cgroup"))) {
      // "0::/path" for cgroup v2; "4:memory:/path" (controllers comma-separated) for v1.
      String[] fields = line.split(":", 3);
      if (fields.length < 3) {
        continue;
      }
      String relative = fields[2].startsWith("/") ? fields[2].substring(1) : fields[2];
      if (fields[0].equals("0") && fields[1].isEmpty()) {
        best = tighter(best, cgroupLimit(cgroupRoot, relative, "memory.max", "cgroup v2 memory.max"));
      } else if (List.of(fields[1].split(",")).contains("memory")) {
        best = tighter(best, cgroupLimit(cgroupRoot.resolve("memory"), relative, "memory.limit_in_bytes",
            "cgroup v1 memory.limit_in_bytes"));
      }
    }
    return best;
  }

  /**
   * Walks from the process's cgroup up to the hierarchy's root, since any ancestor's limit applies. Inside a
   * container the recorded path may not exist in its view of the tree; the root, its own cgroup, still does.
   */
  private static Optional<MemoryLimit> cgroupLimit(Path hierarchy, String relative, String fileName, String what) {
    Optional<MemoryLimit> best = Optional.empty();
    for (Path dir = hierarchy.resolve(relative).normalize(); dir != null && dir.startsWith(hierarchy);
        dir = dir.getParent()) {
      Path file = dir.resolve(fileName);
      List<String> lines = readLines(file);
      if (lines.isEmpty() || lines.getFirst().isBlank() || lines.getFirst().trim().equals("max")) {
        continue;
      }
      try {
        best = tighter(best, Optional.of(new MemoryLimit(Long.parseLong(lines.getFirst().trim()),
            what + " in " + file)));
      } catch (NumberFormatException e) {
        // Not a limit we understand; the other sources still apply.
      }
    }
    return best;
  }

  private static Optional<MemoryLimit> memTotal(Path meminfo) {
    for (String line : readLines(meminfo)) {
      // "MemTotal:       24684084 kB"
      if (line.startsWith("MemTotal:")) {
        String[] fields = line.substring("MemTotal:".length()).trim().split("\\s+");
        try {
          return Optional.of(new MemoryLimit(Long.parseLong(fields[0]) * ByteSize.KiB, "MemTotal in " + meminfo));
        } catch (NumberFormatException e) {
          return Optional.empty();
        }
      }
    }
    return Optional.empty();
  }

  private static Optional<MemoryLimit> tighter(Optional<MemoryLimit> a, Optional<MemoryLimit> b) {
    if (a.isEmpty()) {
      return b;
    }
    if (b.isEmpty()) {
      return a;
    }
    return b.get().bytes() < a.get().bytes() ? b : a;
  }

  private static List<String> readLines(Path file) {
    try {
      return Files.readAllLines(file);
    } catch (IOException e) {
      return List.of(); // an absent source simply does not limit
    }
  }
}
