package io.vnrt.runtime.memory;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.List;
import java.util.OptionalInt;

/**
 * Which files under /dev/shm one caller may map as shared memory. The daemon can open any file its user can, so
 * a file is mapped only when the caller is known to own it (its user id, proved by the transport, is the file's
 * owner), or when its name matches a pattern the operator opened to every client ({@code --shm-allow}).
 *
 * @param peerUid the caller's user id as its transport proves it; empty when it proves none (a remote TCP peer)
 * @param allowedNames glob patterns ({@code triton_*}, {@code *}) of file names any caller may map
 */
public record SharedMemoryAccess(OptionalInt peerUid, List<String> allowedNames) {
  /** Copies the list. */
  public SharedMemoryAccess {
    allowedNames = List.copyOf(allowedNames);
  }

  /** The caller is this process's own user (in-process callers), with no names opened to all. */
  public static SharedMemoryAccess sameUser() {
    return new SharedMemoryAccess(OptionalInt.of(Libc.getuid()), List.of());
  }

  /** This process's user id. */
  public static int daemonUid() {
    return Libc.getuid();
  }

  /** True when the file {@code fileName}, owned by {@code ownerUid}, may be mapped. */
  boolean permits(String fileName, int ownerUid) {
    if (peerUid.isPresent() && peerUid.getAsInt() == ownerUid) {
      return true;
    }
    Path name = Path.of(fileName);
    for (String pattern : allowedNames) {
      PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + pattern);
      if (matcher.matches(name)) {
        return true;
      }
    }
    return false;
  }

  /** For the refusal's message: who the caller is known as. */
  String describeCaller() {
    return peerUid.isPresent() ? "user id " + peerUid.getAsInt() : "a caller whose user the transport cannot tell"
        + " (TCP from another host)";
  }
}
