package io.vnrt.runtime;

import io.vnrt.runtime.memory.HbmExhaustedException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model's weights, packed constants, scratch or activations do not fit in the memory left on
 * its device (or, for a host-memory run, under the host limit). The one out-of-memory failure of
 * the engine: unchecked so that it passes through kernels and constant folding unwrapped, and
 * answered RESOURCE_EXHAUSTED (NRT_RESOURCE) with its facts wherever it reaches a client.
 */
public final class DeviceMemoryExhaustedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Device id in {@link #facts()} of host memory, which belongs to no device. */
  public static final int HOST = -1;

  private final int deviceId;
  private final long requestedBytes;
  private final Map<String, String> facts;

  private DeviceMemoryExhaustedException(String message, int deviceId, long requestedBytes,
      Map<String, String> facts, Throwable cause) {
    super(message, cause);
    this.deviceId = deviceId;
    this.requestedBytes = requestedBytes;
    this.facts = Map.copyOf(facts);
  }

  /** The pool of a device refused an allocation; its explanation (free, largest block, top consumers) is kept. */
  public static DeviceMemoryExhaustedException of(HbmExhaustedException e) {
    return new DeviceMemoryExhaustedException(e.getMessage(), e.deviceId(), e.requestedBytes(), e.facts(), e);
  }

  /**
   * A limit above the pool (a session's HBM quota) refuses {@code requestedBytes} on {@code deviceId}
   * although the pool may have room; {@code facts} are the limit's (what is in use, the limit).
   */
  public static DeviceMemoryExhaustedException overLimit(String message, int deviceId, long requestedBytes,
      Map<String, String> facts, Throwable cause) {
    Map<String, String> all = new LinkedHashMap<>();
    all.put("device_id", String.valueOf(deviceId));
    all.put("requested_bytes", String.valueOf(requestedBytes));
    all.putAll(facts);
    return new DeviceMemoryExhaustedException(message, deviceId, requestedBytes, all, cause);
  }

  /**
   * Host memory (a run without a device, or the daemon's heap) cannot hold {@code requestedBytes}
   * for {@code what}; {@code inUseBytes} and {@code limitBytes} are -1 when unknown.
   */
  public static DeviceMemoryExhaustedException host(String what, long requestedBytes, long inUseBytes,
      long limitBytes, Throwable cause) {
    Map<String, String> facts = new LinkedHashMap<>();
    facts.put("device_id", "host");
    facts.put("requested_bytes", String.valueOf(requestedBytes));
    String detail = "";
    if (limitBytes >= 0) {
      facts.put("in_use_bytes", String.valueOf(inUseBytes));
      facts.put("limit_bytes", String.valueOf(limitBytes));
      detail = ": " + ByteSize.format(inUseBytes) + " of " + ByteSize.format(limitBytes) + " in use";
    }
    return new DeviceMemoryExhaustedException("host memory cannot hold " + ByteSize.format(requestedBytes) + " for "
        + what + detail, HOST, requestedBytes, facts, cause);
  }

  /** The device whose memory ran out, or {@link #HOST}. */
  public int deviceId() {
    return deviceId;
  }

  /** The allocation that failed, in bytes. */
  public long requestedBytes() {
    return requestedBytes;
  }

  /** As error details: device_id, requested_bytes and what the allocator knew (free, largest block, consumers). */
  public Map<String, String> facts() {
    return facts;
  }
}
