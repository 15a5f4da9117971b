package io.vnrt.runtime.memory;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The identities (device and inode) of the files this process's HBM pools are mapped from. A shared-memory
 * registration is checked against them by the identity of the file it opened, so no name, link or race lets a
 * session map the pool, which holds every other session's tensors and weights.
 */
final class PoolFiles {
  /** A file's identity, as stat reports it. */
  record Identity(long device, long inode) {}

  private static final Set<Identity> OWNED = ConcurrentHashMap.newKeySet();

  private PoolFiles() {}

  static void add(Identity identity) {
    OWNED.add(identity);
  }

  static void remove(Identity identity) {
    OWNED.remove(identity);
  }

  static boolean isPoolFile(long device, long inode) {
    return OWNED.contains(new Identity(device, inode));
  }
}
