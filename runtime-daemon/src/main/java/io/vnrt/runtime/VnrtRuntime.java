package io.vnrt.runtime;

import io.vnrt.runtime.exec.DeviceSet;
import io.vnrt.runtime.exec.KernelWarmup;
import io.vnrt.runtime.metrics.RuntimeMetrics;
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
  private final RuntimeMetrics metrics;
  private final ModelRegistry models;
  private final ScheduledExecutorService reaper;
  private final long startedNanos = System.nanoTime();
  private volatile KernelWarmup kernelWarmup;

  private VnrtRuntime(RuntimeConfig config, DeviceSet devices) {
    this.config = config;
    this.devices = devices;
    this.sessions = new SessionRegistry(devices, config.ticker(), config.defaultLeaseTtl(), config.maxLeaseTtl(),
        config.maxTensorsPerSession(), config.sessionQuota(), config.maxSessions());
    this.metrics = new RuntimeMetrics(devices, sessions, config.ticker());
    this.models = new ModelRegistry(devices, sessions, new Engine(), metrics, config.loadWarmupRuns(),
        config.loadWarmupBudget());
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

  /** The meters that executions, model loads and calls report to. */
  public RuntimeMetrics metrics() {
    return metrics;
  }

  /** Loaded models and the schedulers of their core groups. */
  public ModelRegistry models() {
    return models;
  }

  /**
   * Starts compiling the kernels in the background ({@link KernelWarmup}) for at most
   * {@code budget}, on a group as wide as the largest device's (at most 2 cores: every split
   * path is reached with two), yielding to loads and executions; the end is logged.
   */
  public synchronized KernelWarmup startKernelWarmup(Duration budget) {
    if (kernelWarmup != null) {
      throw new IllegalStateException("the kernel warm-up was already started");
    }
    int cores = Math.max(1, Math.min(2, config.topology().devices().stream()
        .mapToInt(d -> d.coreIds().size()).max().orElse(1)));
    KernelWarmup w = KernelWarmup.start(budget, cores, config.backing(), models::busy);
    w.finished().thenAccept(r -> {
      log.info("kernel warm-up {}", r.describe());
      r.models().forEach(m -> log.debug("kernel warm-up of {}", m));
    });
    kernelWarmup = w;
    return w;
  }

  /** The kernel warm-up, if one was started. */
  public Optional<KernelWarmup> kernelWarmup() {
    return Optional.ofNullable(kernelWarmup);
  }

  /** Time since start. */
  public Duration uptime() {
    return Duration.ofNanos(System.nanoTime() - startedNanos);
  }

  /** Stops the reaper, ends every session (freeing its memory), then closes the pools, reporting leaks. */
  @Override
  public void close() {
    KernelWarmup w = kernelWarmup;
    if (w != null) {
      w.close();
    }
    reaper.shutdownNow();
    sessions.closeAll("the runtime shut down");
    models.close();
    devices.close();
  }
}
