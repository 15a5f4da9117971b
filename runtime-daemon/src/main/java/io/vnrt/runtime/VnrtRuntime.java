package io.vnrt.runtime;

import io.vnrt.runtime.exec.DeviceSet;
import io.vnrt.runtime.session.SessionRegistry;
import io.vnrt.runtime.models.ModelRegistry;
import io.vnrt.runtime.exec.Engine;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runtime without any transport: devices with their HBM pools, and the sessions that own
 * tensors in them, with a reaper expiring idle leases. The gRPC server, the embedded mode and
 * the benchmarks all drive this object.
 */
public final class VnrtRuntime implements AutoCloseable {
  /** The vnrt version reported to clients. */
  public static final String VERSION = "0.1.0";

  private static final Logger log = LoggerFactory.getLogger(VnrtRuntime.class);

  private final RuntimeConfig config;
  private final DeviceSet devices;
  private final SessionRegistry sessions;
  private final ModelRegistry models;
  private final ScheduledExecutorService reaper;
  private final long startedNanos = System.nanoTime();

  private VnrtRuntime(RuntimeConfig config, DeviceSet devices) {
    this.config = config;
    this.devices = devices;
    this.sessions = new SessionRegistry(devices, config.ticker(), config.defaultLeaseTtl(), config.maxLeaseTtl(),
        config.maxTensorsPerSession());
    this.models = new ModelRegistry(devices, sessions, new Engine());
    this.reaper = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("vnrt-session-reaper").daemon(true).factory());
    long period = config.reaperPeriod().toMillis();
    reaper.scheduleWithFixedDelay(this::reap, period, period, TimeUnit.MILLISECONDS);
  }

  /**
   * Checks that the backing can hold the configured HBM, maps the pools and starts the reaper.
   *
   * @throws IllegalStateException with the check's explanation when a file backing lacks room
   * @throws IOException when a backing file cannot be created
   */
  public static VnrtRuntime start(RuntimeConfig config) throws IOException {
    Optional<String> problem = config.backing().check(config.topology().totalHbmBytes());
    if (problem.isPresent()) {
      if (config.backing().checkIsFatal()) {
        throw new IllegalStateException(problem.get());
      }
      log.warn(problem.get());
    }
    return new VnrtRuntime(config, DeviceSet.open(config.topology(), config.backing(), config.hostMemoryBytes()));
  }

  private void reap() {
    try {
      sessions.reapExpired();
    } catch (RuntimeException e) {
      log.error("session reaper failed; will retry", e);
    }
  }

  /** The configuration started with. */
  public RuntimeConfig config() {
    return config;
  }

  /** Devices and pools. */
  public DeviceSet devices() {
    return devices;
  }

  /** Open sessions. */
  public SessionRegistry sessions() {
    return sessions;
  }

  /** Loaded models and the schedulers of their core groups. */
  public ModelRegistry models() {
    return models;
  }

  /** Time since start. */
  public Duration uptime() {
    return Duration.ofNanos(System.nanoTime() - startedNanos);
  }

  /** Stops the reaper, ends every session (freeing its memory), then closes the pools, reporting leaks. */
  @Override
  public void close() {
    reaper.shutdownNow();
    sessions.closeAll("the runtime shut down");
    models.close();
    devices.close();
  }
}
