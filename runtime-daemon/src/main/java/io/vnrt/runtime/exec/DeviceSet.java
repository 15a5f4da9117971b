package io.vnrt.runtime.exec;

import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The devices of a running runtime with their HBM pools, plus the host pool that holds
 * PLACEMENT_HOST tensors. Counts operations touching pool memory so that close() unmaps nothing
 * still in use.
 */
public final class DeviceSet implements AutoCloseable {
  /** Device id of the host pool. */
  public static final int HOST_DEVICE_ID = -1;

  private static final Logger log = LoggerFactory.getLogger(DeviceSet.class);

  private final Topology topology;
  private final List<Device> devices;
  private final HbmPool hostPool;
  private final AtomicInteger busy = new AtomicInteger();
  private volatile boolean closing;

  private DeviceSet(Topology topology, List<Device> devices, HbmPool hostPool) {
    this.topology = topology;
    this.devices = List.copyOf(devices);
    this.hostPool = hostPool;
  }

  /** Maps one pool per device of {@code topology}, and a host pool of {@code hostMemoryBytes}. */
  public static DeviceSet open(Topology topology, BackingChoice backing, long hostMemoryBytes) throws IOException {
    List<HbmPool> opened = new ArrayList<>();
    try {
      List<Device> devices = new ArrayList<>();
      for (DeviceSpec spec : topology.devices()) {
        HbmPool pool = new HbmPool(spec.deviceId(), backing.create(spec.hbmBytes()));
        opened.add(pool);
        devices.add(new Device(spec, pool));
      }
      HbmPool host = new HbmPool(HOST_DEVICE_ID, HbmBacking.anonymous(hostMemoryBytes));
      return new DeviceSet(topology, devices, host);
    } catch (IOException | RuntimeException e) {
      opened.forEach(HbmPool::close);
      throw e;
    }
  }

  /** The topology the devices were built from. */
  public Topology topology() {
    return topology;
  }

  /** The visible devices, ascending by id. */
  public List<Device> devices() {
    return devices;
  }

  /** The device with this id; INVALID_ARGUMENT naming the valid ids otherwise. */
  public Device device(int deviceId) {
    for (Device d : devices) {
      if (d.id() == deviceId) {
        return d;
      }
    }
    throw VnrtRuntimeException.invalid("unknown device " + deviceId + ": this daemon has device(s) "
        + topology.deviceIds(), "device_id", deviceId, "valid_device_ids", topology.deviceIds());
  }

  /** The pool of daemon host memory. */
  public HbmPool hostPool() {
    return hostPool;
  }

  /** Marks the start of an operation on pool memory; UNAVAILABLE once closing. Pair with {@link #exit()}. */
  public void enter() {
    busy.incrementAndGet();
    if (closing) {
      busy.decrementAndGet();
      throw VnrtRuntimeException.unavailable("the runtime is shutting down");
    }
  }

  /** Marks the end of an operation started with {@link #enter()}. */
  public void exit() {
    busy.decrementAndGet();
  }

  /** Operations on pool memory in progress. */
  public int busyOperations() {
    return busy.get();
  }

  /** Closes every pool (logging any leaks) once operations in progress end, waiting up to 10 s. */
  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }

  /**
   * Refuses new operations, waits up to {@code drain} for those in progress, then closes the pools.
   * If some are still running, the pools stay mapped (and are reported) rather than unmapped under them.
   */
  public void close(Duration drain) {
    closing = true;
    long deadline = System.nanoTime() + drain.toNanos();
    while (busy.get() > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    if (busy.get() > 0) {
      log.error("{} operation(s) still use device memory after {} ms; leaving the HBM pools mapped", busy.get(),
          drain.toMillis());
      return;
    }
    devices.forEach(d -> d.pool().close());
    hostPool.close();
  }
}
