package io.vnrt.client;

import io.vnrt.proto.v1.BatchingOptions;
import io.vnrt.proto.v1.LoadModelHeader;
import java.time.Duration;
import java.util.Map;

/**
 * Where and how to load a model: name, device, core group (a start core and count, or the first
 * free group), optional dynamic batching and queue depth, and the warm-up at load (by default the
 * daemon's: one execution on generated inputs). Immutable; start from {@link #defaults()}.
 *
 * @param name model name, unique in the session ("" takes the file name, or "model")
 * @param deviceId device to load onto
 * @param startCore first global core id of the group, or -1 for the first free group
 * @param coreCount cores in the group (at least 1)
 * @param maxBatchSize largest merged batch with dynamic batching, 0 for no batching
 * @param maxQueueDelay longest a request waits for others to batch with
 * @param queueDepth execution queue depth, 0 for the daemon's default
 * @param warmupRuns executions with generated inputs the daemon runs before the load returns
 * @param warmupTime and the daemon keeps warming up until this much time has passed
 * @param warmupDims sizes of symbolic dims for the warm-up inputs (others are 1)
 * @param skipWarmup no warm-up at all, not even the daemon's default one
 */
public record LoadOptions(String name, int deviceId, int startCore, int coreCount, int maxBatchSize,
    Duration maxQueueDelay, int queueDepth, int warmupRuns, Duration warmupTime, Map<String, Long> warmupDims,
    boolean skipWarmup) {

  /** Checks the values. */
  public LoadOptions {
    name = name == null ? "" : name;
    if (deviceId < 0 || coreCount < 1 || maxBatchSize < 0 || queueDepth < 0) {
      throw new IllegalArgumentException("device " + deviceId + ", core count " + coreCount + ", max batch "
          + maxBatchSize + ", queue depth " + queueDepth + ": device, batch and depth must be >= 0, cores >= 1");
    }
    maxQueueDelay = maxQueueDelay == null ? Duration.ZERO : maxQueueDelay;
    warmupTime = warmupTime == null ? Duration.ZERO : warmupTime;
    warmupDims = warmupDims == null ? Map.of() : Map.copyOf(warmupDims);
    if (warmupRuns < 0 || warmupTime.isNegative()) {
      throw new IllegalArgumentException("warm-up of " + warmupRuns + " runs and " + warmupTime
          + ": both must be >= 0");
    }
    if (skipWarmup && (warmupRuns > 0 || !warmupTime.isZero())) {
      throw new IllegalArgumentException("a load cannot both skip its warm-up and ask for " + warmupRuns + " runs and "
          + warmupTime);
    }
  }

  /** With the daemon's default warm-up. */
  public LoadOptions(String name, int deviceId, int startCore, int coreCount, int maxBatchSize,
      Duration maxQueueDelay, int queueDepth) {
    this(name, deviceId, startCore, coreCount, maxBatchSize, maxQueueDelay, queueDepth, 0, Duration.ZERO, Map.of(),
        false);
  }

  /**
   * With a warm-up at load: at least {@code runs} executions with generated inputs, continuing
   * until {@code time} has passed, symbolic dims sized by {@code dims} (others 1). The load
   * returns once the plan is compiled and the kernels are hot. No runs and no time keeps the
   * daemon's default warm-up, with these dims: give the sizes your requests will have.
   */
  public LoadOptions withWarmup(int runs, Duration time, Map<String, Long> dims) {
    return new LoadOptions(name, deviceId, startCore, coreCount, maxBatchSize, maxQueueDelay, queueDepth, runs, time,
        dims, false);
  }

  /** Without any warm-up at load, not even the daemon's default one: the first request compiles the plan. */
  public LoadOptions withoutWarmup() {
    return new LoadOptions(name, deviceId, startCore, coreCount, maxBatchSize, maxQueueDelay, queueDepth, 0,
        Duration.ZERO, Map.of(), true);
  }

  /** Device 0, one core, the first free core, no batching, the daemon's queue depth. */
  public static LoadOptions defaults() {
    return new LoadOptions("", 0, -1, 1, 0, Duration.ZERO, 0);
  }

  /** With a model name. */
  public LoadOptions withName(String newName) {
    return new LoadOptions(newName, deviceId, startCore, coreCount, maxBatchSize, maxQueueDelay, queueDepth, warmupRuns,
        warmupTime, warmupDims, skipWarmup);
  }

  /** On device {@code id}. */
  public LoadOptions onDevice(int id) {
    return new LoadOptions(name, id, startCore, coreCount, maxBatchSize, maxQueueDelay, queueDepth, warmupRuns,
        warmupTime, warmupDims, skipWarmup);
  }

  /** On {@code count} cores starting at global core {@code start}. */
  public LoadOptions onCores(int start, int count) {
    return new LoadOptions(name, deviceId, start, count, maxBatchSize, maxQueueDelay, queueDepth, warmupRuns,
        warmupTime, warmupDims, skipWarmup);
  }

  /** On the first free group of {@code count} cores. */
  public LoadOptions onAnyCores(int count) {
    return new LoadOptions(name, deviceId, -1, count, maxBatchSize, maxQueueDelay, queueDepth, warmupRuns,
        warmupTime, warmupDims, skipWarmup);
  }

  /** With dynamic batching: up to {@code maxBatch} requests merged, each waiting at most {@code maxDelay}. */
  public LoadOptions withBatching(int maxBatch, Duration maxDelay) {
    return new LoadOptions(name, deviceId, startCore, coreCount, maxBatch, maxDelay, queueDepth, warmupRuns,
        warmupTime, warmupDims, skipWarmup);
  }

  /** With an execution queue of {@code depth} requests. */
  public LoadOptions withQueueDepth(int depth) {
    return new LoadOptions(name, deviceId, startCore, coreCount, maxBatchSize, maxQueueDelay, depth, warmupRuns,
        warmupTime, warmupDims, skipWarmup);
  }

  LoadModelHeader toHeader(String defaultName, long sizeBytes) {
    LoadModelHeader.Builder b = LoadModelHeader.newBuilder()
        .setName(name.isEmpty() ? defaultName : name)
        .setDeviceId(deviceId)
        .setCoreCount(coreCount)
        .setAutoPlace(startCore < 0)
        .setStartCore(Math.max(0, startCore))
        .setModelSizeBytes(sizeBytes)
        .setQueueDepth(queueDepth)
        .setWarmupRuns(warmupRuns)
        .setWarmupMs((int) Math.min(Integer.MAX_VALUE, warmupTime.toMillis()))
        .putAllWarmupDims(warmupDims)
        .setSkipWarmup(skipWarmup);
    if (maxBatchSize > 0) {
      b.setBatching(BatchingOptions.newBuilder().setEnabled(true).setMaxBatchSize(maxBatchSize)
          .setMaxQueueDelayUs(maxQueueDelay.toNanos() / 1000));
    }
    return b.build();
  }
}
