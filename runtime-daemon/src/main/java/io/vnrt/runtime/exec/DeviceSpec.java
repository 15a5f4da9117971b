package io.vnrt.runtime.exec;

import java.util.List;

/**
 * One device of the topology.
 *
 * @param deviceId index of the device (physical: unchanged by a visible-cores restriction)
 * @param profile the emulated profile's name ("cpu", "inf2", ... or "custom")
 * @param coreIds the device's visible cores as global core ids, ascending
 * @param localCoreCount cores the device has before any restriction
 * @param hbmBytes capacity of the device's HBM pool
 */
public record DeviceSpec(int deviceId, String profile, List<Integer> coreIds, int localCoreCount, long hbmBytes) {

  /** Copies the core list. */
  public DeviceSpec {
    coreIds = List.copyOf(coreIds);
  }

  /** Index of a global core within this device. */
  public int localIndex(int coreId) {
    return coreId - deviceId * localCoreCount;
  }

  /** True when {@code coreId} is a visible core of this device. */
  public boolean hasCore(int coreId) {
    return coreIds.contains(coreId);
  }
}
