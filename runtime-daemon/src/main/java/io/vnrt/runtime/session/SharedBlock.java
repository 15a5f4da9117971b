package io.vnrt.runtime.session;

import io.vnrt.runtime.memory.HbmBlock;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HBM block shared by a tensor, its slices and the operations pinning it; the block returns
 * to its pool when the last of them lets go.
 */
final class SharedBlock {
  private final HbmBlock block;
  private final AtomicInteger references = new AtomicInteger(1);

  SharedBlock(HbmBlock block) {
    this.block = block;
  }

  HbmBlock block() {
    return block;
  }

  /** Adds a reference unless the block was already released. */
  boolean retain() {
    for (;;) {
      int n = references.get();
      if (n == 0) {
        return false;
      }
      if (references.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /** Drops a reference; returns the bytes given back to the pool (0 unless it was the last). */
  long release() {
    int n = references.decrementAndGet();
    if (n < 0) {
      throw new IllegalStateException("released more often than retained: " + block);
    }
    if (n > 0) {
      return 0;
    }
    long bytes = block.alignedBytes();
    block.close();
    return bytes;
  }
}
