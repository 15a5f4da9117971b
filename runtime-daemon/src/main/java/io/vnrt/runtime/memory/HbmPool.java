package io.vnrt.runtime.memory;

import io.vnrt.runtime.ByteSize;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One device's HBM: a backing, an allocator over its offsets, and accounting by category, owner, core and model.
 * Thread-safe. Free memory always reads as zero, so a new block never shows another owner's data.
 */
public final class HbmPool implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HbmPool.class);

  /**
   * Freed blocks from this size up hand their whole pages back to the OS instead of being zero-filled; so does
   * any free range that reaches this size by coalescing (the allocator discards the pages of the smaller freed
   * blocks it absorbs), so pages touched once by many small blocks do not stay committed after they are freed.
   */
  static final long DISCARD_THRESHOLD = 2 * ByteSize.MiB;
  private static final int LEAKS_LISTED = 10;
  private static final int TOP_CONSUMERS = 3;

  private final int deviceId;
  private final HbmBacking backing;
  private final MemorySegment memory;
  private final OffsetAllocator allocator;
  /**
   * Live blocks by {@link OffsetAllocator#slot} of their offset: the accounting is derived from them on demand,
   * keeping allocate and free cheap.
   */
  private final Map<Long, HbmBlock> live = new ConcurrentHashMap<>();
  private final AtomicBoolean closed = new AtomicBoolean();

  public HbmPool(int deviceId, HbmBacking backing) {
    this.deviceId = deviceId;
    this.backing = Objects.requireNonNull(backing, "backing");
    this.memory = backing.segment();
    this.allocator = new OffsetAllocator(backing.capacityBytes(), Libc.PAGE_SIZE, DISCARD_THRESHOLD, backing::discard);
  }

  public int deviceId() {
    return deviceId;
  }

  /** The backing's capacity, rounded down to a multiple of 64 (the allocation grain). */
  public long capacityBytes() {
    return allocator.capacity();
  }

  /** The backing, for status displays ({@link HbmBacking#describe()}, resident bytes). */
  public HbmBacking backing() {
    return backing;
  }

  /**
   * Allocates sizeBytes rounded up to a multiple of 64; the block's memory reads as zero.
   *
   * @param ownerId the session id charged, or e.g. "runtime"
   * @param ownerLabel the session's client name, shown in messages; null for the runtime's own blocks
   * @param coreId the core charged, or -1 for the device as a whole
   * @param modelId the model the block belongs to, or null
   * @param what the request, for messages, e.g. "tensor 'x' float32[1024,1024]"
   * @throws HbmExhaustedException if no free block is large enough
   * @throws IllegalStateException if the pool is closed
   */
  public HbmBlock allocate(long sizeBytes, MemoryCategory category, String ownerId, String ownerLabel, int coreId,
      String modelId, String what) throws HbmExhaustedException {
    if (sizeBytes <= 0) {
      throw new IllegalArgumentException("device " + deviceId + ": " + what + " needs a positive size, got "
          + sizeBytes);
    }
    Objects.requireNonNull(category, "category");
    Objects.requireNonNull(ownerId, "ownerId");
    Objects.requireNonNull(what, "what");
    if (closed.get()) {
      throw new IllegalStateException("device " + deviceId + ": HBM pool is closed, cannot allocate " + what);
    }
    long offset = allocator.allocate(sizeBytes);
    if (offset < 0) {
      throw exhausted(sizeBytes, what);
    }
    HbmBlock block = new HbmBlock(this, offset, sizeBytes, OffsetAllocator.align(sizeBytes),
        memory.asSlice(offset, sizeBytes), category, ownerId, ownerLabel, coreId, modelId, what);
    live.put(OffsetAllocator.slot(offset), block);
    return block;
  }

  private HbmExhaustedException exhausted(long sizeBytes, String what) {
    OffsetAllocator.Usage usage = allocator.usage();
    List<MemoryStats.OwnerUsage> owners = byOwner();
    return new HbmExhaustedException(deviceId, what, sizeBytes, usage.freeBytes(), usage.largestFreeBlockBytes(),
        owners.subList(0, Math.min(TOP_CONSUMERS, owners.size())));
  }

  /** Called once per block by {@link HbmBlock#close()}. */
  void release(HbmBlock block) {
    live.remove(OffsetAllocator.slot(block.offset()));
    if (closed.get()) {
      return; // the backing is gone; the block was reported as leaked
    }
    // Zero the range before the allocator can hand it out again, so no one sees the previous owner's data.
    scrub(block.offset(), block.alignedBytes());
    allocator.free(block.offset());
  }

  private void scrub(long offset, long length) {
    if (length < DISCARD_THRESHOLD) {
      memory.asSlice(offset, length).fill((byte) 0);
      return;
    }
    // The backing's base is page-aligned, so page boundaries within the pool are multiples of the page size.
    long end = offset + length;
    long pagesStart = (offset + Libc.PAGE_SIZE - 1) / Libc.PAGE_SIZE * Libc.PAGE_SIZE;
    long pagesEnd = end / Libc.PAGE_SIZE * Libc.PAGE_SIZE;
    memory.asSlice(offset, pagesStart - offset).fill((byte) 0);
    backing.discard(pagesStart, pagesEnd - pagesStart);
    memory.asSlice(pagesEnd, end - pagesEnd).fill((byte) 0);
  }

  /** Sum of the aligned sizes of live blocks. */
  public long usedBytes() {
    return allocator.usedBytes();
  }

  /**
   * Bytes held by each category (every category present), summed over the live blocks without
   * taking the allocator's lock: metrics scrapes read this, so they never wait on an allocation.
   */
  public Map<MemoryCategory, Long> usedBytesByCategory() {
    Map<MemoryCategory, Long> byCategory = new EnumMap<>(MemoryCategory.class);
    for (MemoryCategory category : MemoryCategory.values()) {
      byCategory.put(category, 0L);
    }
    for (HbmBlock block : live.values()) {
      byCategory.merge(block.category(), block.alignedBytes(), Long::sum);
    }
    return byCategory;
  }

  /** The most bytes in use at once since the pool opened, read without the allocator's lock. */
  public long peakUsedBytes() {
    return allocator.peakUsedBytes();
  }

  public MemoryStats stats() {
    OffsetAllocator.Usage usage = allocator.usage();
    Map<MemoryCategory, Long> byCategory = new EnumMap<>(MemoryCategory.class);
    for (MemoryCategory category : MemoryCategory.values()) {
      byCategory.put(category, 0L);
    }
    Map<Integer, Long> byCore = new TreeMap<>();
    Map<String, Long> byModel = new TreeMap<>();
    for (HbmBlock block : live.values()) {
      byCategory.merge(block.category(), block.alignedBytes(), Long::sum);
      if (block.coreId() >= 0) {
        byCore.merge(block.coreId(), block.alignedBytes(), Long::sum);
      }
      if (block.modelId() != null) {
        byModel.merge(block.modelId(), block.alignedBytes(), Long::sum);
      }
    }
    double fragmentation =
        usage.freeBytes() == 0 ? 0 : 1 - (double) usage.largestFreeBlockBytes() / usage.freeBytes();
    return new MemoryStats(deviceId, usage.capacity(), usage.usedBytes(), usage.peakUsedBytes(), usage.freeBytes(),
        usage.largestFreeBlockBytes(), fragmentation, usage.allocations(), usage.freeBlocks(), byCategory,
        byOwner(), byCore, byModel, closed.get() ? -1 : backing.residentBytes());
  }

  private List<MemoryStats.OwnerUsage> byOwner() {
    Map<String, MemoryStats.OwnerUsage> owners = new HashMap<>();
    for (HbmBlock block : live.values()) {
      owners.merge(block.ownerId(),
          new MemoryStats.OwnerUsage(block.ownerId(), block.ownerLabel(), block.alignedBytes(), 1),
          (a, b) -> new MemoryStats.OwnerUsage(a.ownerId(), a.ownerLabel(), a.usedBytes() + b.usedBytes(),
              a.allocations() + b.allocations()));
    }
    List<MemoryStats.OwnerUsage> sorted = new ArrayList<>(owners.values());
    sorted.sort(Comparator.comparingLong(MemoryStats.OwnerUsage::usedBytes).reversed()
        .thenComparing(MemoryStats.OwnerUsage::ownerId));
    return sorted;
  }

  /**
   * Describes the blocks still held, largest first: "leaked 12.0 MiB in 3 blocks: tensor 'x' (...), ...";
   * empty when none are.
   */
  public String leakReport() {
    List<HbmBlock> held = new ArrayList<>(live.values());
    if (held.isEmpty()) {
      return "";
    }
    held.sort(Comparator.comparingLong(HbmBlock::alignedBytes).reversed().thenComparingLong(HbmBlock::offset));
    long bytes = held.stream().mapToLong(HbmBlock::alignedBytes).sum();
    StringBuilder report = new StringBuilder("leaked ").append(ByteSize.format(bytes)).append(" in ")
        .append(held.size()).append(held.size() == 1 ? " block: " : " blocks: ");
    for (int i = 0; i < Math.min(LEAKS_LISTED, held.size()); i++) {
      report.append(i == 0 ? "" : ", ").append(held.get(i));
    }
    if (held.size() > LEAKS_LISTED) {
      report.append(", and ").append(held.size() - LEAKS_LISTED).append(" more");
    }
    return report.toString();
  }

  /** Logs a leak report if blocks are still held, then unmaps the backing; idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    String leaks = leakReport();
    if (!leaks.isEmpty()) {
      log.warn("device {}: HBM pool closed with blocks still held: {}", deviceId, leaks);
    }
    backing.close();
  }

  @Override
  public String toString() {
    return "HbmPool[device " + deviceId + ", " + ByteSize.format(capacityBytes()) + ", " + backing.describe() + "]";
  }
}
