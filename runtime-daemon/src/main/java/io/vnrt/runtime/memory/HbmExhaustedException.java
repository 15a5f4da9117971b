package io.vnrt.runtime.memory;

import io.vnrt.runtime.ByteSize;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A device's HBM cannot hold a request. A normal, explained event: the message names the request, the free
 * total, the largest free block (which tells fragmentation from plain exhaustion) and the top consumers.
 */
public final class HbmExhaustedException extends Exception {
  private final int deviceId;
  private final long requestedBytes;
  private final long freeBytes;
  private final long largestFreeBlockBytes;
  private final List<MemoryStats.OwnerUsage> topConsumers;

  /**
   * @param what the request, e.g. "tensor 'x' float32[1024,1024]"
   * @param topConsumers up to three owners, largest first
   */
  public HbmExhaustedException(int deviceId, String what, long requestedBytes, long freeBytes,
      long largestFreeBlockBytes, List<MemoryStats.OwnerUsage> topConsumers) {
    super(message(deviceId, what, requestedBytes, freeBytes, largestFreeBlockBytes, topConsumers));
    this.deviceId = deviceId;
    this.requestedBytes = requestedBytes;
    this.freeBytes = freeBytes;
    this.largestFreeBlockBytes = largestFreeBlockBytes;
    this.topConsumers = List.copyOf(topConsumers);
  }

  private static String message(int deviceId, String what, long requestedBytes, long freeBytes,
      long largestFreeBlockBytes, List<MemoryStats.OwnerUsage> topConsumers) {
    String consumers = topConsumers.isEmpty()
        ? "none"
        : topConsumers.stream().map(MemoryStats.OwnerUsage::describe).collect(Collectors.joining("; "));
    return "device " + deviceId + ": cannot allocate " + ByteSize.format(requestedBytes) + " for " + what + ": "
        + ByteSize.format(freeBytes) + " free, largest free block " + ByteSize.format(largestFreeBlockBytes)
        + "; top consumers: " + consumers;
  }

  public int deviceId() {
    return deviceId;
  }

  public long requestedBytes() {
    return requestedBytes;
  }

  public long freeBytes() {
    return freeBytes;
  }

  public long largestFreeBlockBytes() {
    return largestFreeBlockBytes;
  }

  /** Up to three owners holding the most memory on the device, largest first. */
  public List<MemoryStats.OwnerUsage> topConsumers() {
    return topConsumers;
  }

  /** As error details: device_id, requested_bytes, free_bytes, largest_free_block_bytes, top_consumers. */
  public Map<String, String> facts() {
    Map<String, String> facts = new LinkedHashMap<>();
    facts.put("device_id", String.valueOf(deviceId));
    facts.put("requested_bytes", String.valueOf(requestedBytes));
    facts.put("free_bytes", String.valueOf(freeBytes));
    facts.put("largest_free_block_bytes", String.valueOf(largestFreeBlockBytes));
    facts.put("top_consumers", topConsumers.stream().map(MemoryStats.OwnerUsage::describe)
        .collect(Collectors.joining("; ")));
    return facts;
  }
}
