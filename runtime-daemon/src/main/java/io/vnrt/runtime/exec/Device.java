package io.vnrt.runtime.exec;

import io.vnrt.runtime.memory.HbmPool;

/**
 * A running device: its place in the topology and its HBM pool.
 *
 * @param spec id, cores and capacity
 * @param pool the device's HBM
 */
public record Device(DeviceSpec spec, HbmPool pool) {

  /** The device id. */
  public int id() {
    return spec.deviceId();
  }
}
