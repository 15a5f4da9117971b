package io.vnrt.runtime.memory;

import io.vnrt.runtime.ByteSize;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One device's HBM use at a moment. All byte figures count aligned sizes, so usedBytes + freeBytes == capacityBytes.
 *
 * @param fragmentation 1 - largestFreeBlockBytes / freeBytes; 0 when nothing is free
 * @param allocations live blocks
 * @param byCategory every category, including those at zero
 * @param byOwner owners holding memory, largest first
 * @param byCore cores holding memory (blocks charged to no core, core -1, are left out), by core id
 * @param byModel models holding memory (blocks of no model are left out), by model id
 * @param residentBytes bytes of the backing resident in RAM, or -1 if unknown
 */
public record MemoryStats(int deviceId, long capacityBytes, long usedBytes, long peakUsedBytes, long freeBytes,
    long largestFreeBlockBytes, double fragmentation, int allocations, int freeBlocks,
    Map<MemoryCategory, Long> byCategory, List<OwnerUsage> byOwner, Map<Integer, Long> byCore,
    Map<String, Long> byModel, long residentBytes) {

  /** What one owner (a session, or the runtime itself) holds on a device. */
  public record OwnerUsage(String ownerId, String ownerLabel, long usedBytes, int allocations) {

    /** "session ab12cd (client 'svc'), 6.0 GiB in 3 allocations", or "runtime, ..." for an owner without label. */
    public String describe() {
      String who = ownerLabel == null || ownerLabel.isBlank()
          ? ownerId
          : "session " + ownerId + " (client '" + ownerLabel + "')";
      return who + ", " + ByteSize.format(usedBytes) + " in " + allocations
          + (allocations == 1 ? " allocation" : " allocations");
    }
  }

  public MemoryStats {
    // Copies keep the callers' iteration order (enum order, sorted ids) while making the record immutable.
    Map<MemoryCategory, Long> categories = new EnumMap<>(MemoryCategory.class);
    categories.putAll(byCategory);
    byCategory = Collections.unmodifiableMap(categories);
    byOwner = List.copyOf(byOwner);
    byCore = Collections.unmodifiableMap(new LinkedHashMap<>(byCore));
    byModel = Collections.unmodifiableMap(new LinkedHashMap<>(byModel));
  }
}
