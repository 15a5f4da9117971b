package io.vnrt.runtime.exec;

import io.vnrt.runtime.ByteSize;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The devices a daemon presents: how many, their cores and HBM. Global core ids run
 * device-major: core {@code d * coresPerDevice + i} is core {@code i} of device {@code d}.
 *
 * @param profile the profile the devices emulate ("custom" when flags changed its shape)
 * @param devices the visible devices, ascending by id
 */
public record Topology(String profile, List<DeviceSpec> devices) {

  /** Copies the device list. */
  public Topology {
    devices = List.copyOf(devices);
  }

  /**
   * Builds a topology from a profile, overridden by explicit flags where given.
   *
   * @param profile the base profile
   * @param deviceCount devices, or empty for 1
   * @param coresPerDevice cores per device, or empty for the profile's
   * @param hbmBytes HBM per device, or empty for the profile's
   * @param visible a visible-cores restriction, or empty for all cores
   * @throws IllegalArgumentException when a value is out of range or nothing remains visible
   */
  public static Topology of(Profile profile, Optional<Integer> deviceCount, Optional<Integer> coresPerDevice,
      Optional<Long> hbmBytes, Optional<VisibleCores> visible) {
    int devices = deviceCount.orElse(1);
    int cores = coresPerDevice.orElse(profile.coresPerDevice());
    long hbm = hbmBytes.orElse(profile.hbmBytesPerDevice());
    if (devices < 1 || devices > 1024) {
      throw new IllegalArgumentException("--devices must be between 1 and 1024, got " + devices);
    }
    if (cores < 1 || cores > 1024) {
      throw new IllegalArgumentException("--cores-per-device must be between 1 and 1024, got " + cores);
    }
    if (hbm < 4096) {
      throw new IllegalArgumentException("--hbm must be at least 4 KiB per device, got " + hbm + " bytes");
    }
    boolean custom = coresPerDevice.isPresent() && cores != profile.coresPerDevice()
        || hbmBytes.isPresent() && hbm != profile.hbmBytesPerDevice();
    String name = custom ? "custom" : profile.displayName();
    int total = devices * cores;
    if (visible.isPresent() && visible.get().highest() >= total) {
      throw new IllegalArgumentException("visible cores " + visible.get() + " name core "
          + visible.get().highest() + ", but the topology has cores 0-" + (total - 1) + " (" + devices
          + " device(s) x " + cores + " cores)");
    }
    List<DeviceSpec> specs = new ArrayList<>();
    for (int d = 0; d < devices; d++) {
      List<Integer> ids = new ArrayList<>();
      for (int i = 0; i < cores; i++) {
        int id = d * cores + i;
        if (visible.isEmpty() || visible.get().contains(id)) {
          ids.add(id);
        }
      }
      if (!ids.isEmpty()) {
        specs.add(new DeviceSpec(d, name, ids, cores, hbm));
      }
    }
    if (specs.isEmpty()) {
      throw new IllegalArgumentException("no core is visible: check --visible-cores / " + VisibleCores.ENV);
    }
    return new Topology(name, specs);
  }

  /** The device with this id, if visible. */
  public Optional<DeviceSpec> device(int deviceId) {
    return devices.stream().filter(d -> d.deviceId() == deviceId).findFirst();
  }

  /** Visible cores across all devices. */
  public int coreCount() {
    return devices.stream().mapToInt(d -> d.coreIds().size()).sum();
  }

  /** Sum of the devices' HBM capacities. */
  public long totalHbmBytes() {
    return devices.stream().mapToLong(DeviceSpec::hbmBytes).sum();
  }

  /** The visible device ids, e.g. "0, 1". */
  public String deviceIds() {
    return devices.stream().map(d -> String.valueOf(d.deviceId())).collect(Collectors.joining(", "));
  }

  /** One line for people: "trn1: 2 devices, 4 cores (2 per device), 32.0 GiB HBM per device". */
  public String summary() {
    DeviceSpec first = devices.getFirst();
    boolean uniform = devices.stream().allMatch(d -> d.coreIds().size() == first.coreIds().size());
    String perDevice = uniform ? " (" + first.coreIds().size() + " per device)" : "";
    return profile + ": " + devices.size() + (devices.size() == 1 ? " device, " : " devices, ") + coreCount()
        + (coreCount() == 1 ? " core" : " cores") + perDevice + ", " + ByteSize.format(first.hbmBytes())
        + " HBM per device";
  }
}
