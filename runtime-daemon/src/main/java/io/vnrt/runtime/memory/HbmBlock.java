package io.vnrt.runtime.memory;

import io.vnrt.runtime.ByteSize;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A live allocation in a device's HBM pool. Its memory reads as zero when allocated. close() frees it exactly
 * once; a second close is a bug in the caller and throws.
 */
public final class HbmBlock implements AutoCloseable {
  private final HbmPool pool;
  private final long offset;
  private final long sizeBytes;
  private final long alignedBytes;
  private final MemorySegment segment;
  private final MemoryCategory category;
  private final String ownerId;
  private final String ownerLabel;
  private final int coreId;
  private final String modelId;
  private final String what;
  private final AtomicBoolean freed = new AtomicBoolean();

  HbmBlock(HbmPool pool, long offset, long sizeBytes, long alignedBytes, MemorySegment segment,
      MemoryCategory category, String ownerId, String ownerLabel, int coreId, String modelId, String what) {
    this.pool = pool;
    this.offset = offset;
    this.sizeBytes = sizeBytes;
    this.alignedBytes = alignedBytes;
    this.segment = segment;
    this.category = category;
    this.ownerId = ownerId;
    this.ownerLabel = ownerLabel;
    this.coreId = coreId;
    this.modelId = modelId;
    this.what = what;
  }

  /** Byte offset of the block in its pool; a multiple of 64. */
  public long offset() {
    return offset;
  }

  /** The size requested. */
  public long sizeBytes() {
    return sizeBytes;
  }

  /** The size reserved in the pool: sizeBytes rounded up to 64. */
  public long alignedBytes() {
    return alignedBytes;
  }

  /** The block's memory, exactly sizeBytes long; invalid once the pool is closed. */
  public MemorySegment segment() {
    return segment;
  }

  public MemoryCategory category() {
    return category;
  }

  public String ownerId() {
    return ownerId;
  }

  /** The owner's display name (a session's client name), or null. */
  public String ownerLabel() {
    return ownerLabel;
  }

  /** The core charged, or -1 for the device as a whole. */
  public int coreId() {
    return coreId;
  }

  /** The model the block belongs to, or null. */
  public String modelId() {
    return modelId;
  }

  /** What the block was allocated for, as given to {@link HbmPool#allocate}. */
  public String what() {
    return what;
  }

  public int deviceId() {
    return pool.deviceId();
  }

  public boolean isFreed() {
    return freed.get();
  }

  /**
   * Frees the block.
   *
   * @throws IllegalStateException if it was already freed
   */
  @Override
  public void close() {
    if (!freed.compareAndSet(false, true)) {
      throw new IllegalStateException("device " + deviceId() + ": " + this + " was already freed");
    }
    pool.release(this);
  }

  /** "tensor 'x' (8.0 MiB at offset 0x400000, session ab12cd)". */
  @Override
  public String toString() {
    return what + " (" + ByteSize.format(alignedBytes) + " at offset 0x" + Long.toHexString(offset) + ", "
        + (ownerLabel == null || ownerLabel.isBlank() ? ownerId : "session " + ownerId) + ")";
  }
}
