package io.vnrt.runtime.server;

import io.vnrt.proto.v1.CoreMetrics;
import io.vnrt.proto.v1.DeviceMemoryUsage;
import io.vnrt.proto.v1.LatencySummary;
import io.vnrt.proto.v1.MetricsSnapshot;
import io.vnrt.proto.v1.ModelMetrics;
import io.vnrt.runtime.memory.MemoryStats;
import io.vnrt.runtime.metrics.LatencyHistogram;
import io.vnrt.runtime.metrics.MetricsSample;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/** Turns two cumulative samples into the Monitor's snapshot of the period between them. */
final class MonitorSnapshots {
  private MonitorSnapshots() {
  }

  /**
   * The activity between {@code earlier} (null: since the daemon started) and {@code now}.
   *
   * @param periodNanos the length of the period
   */
  static MetricsSnapshot between(MetricsSample earlier, MetricsSample now, long periodNanos) {
    MetricsSnapshot.Builder out = MetricsSnapshot.newBuilder()
        .setTimestampMs(now.wallMillis())
        .setPeriodMs(periodNanos / 1_000_000)
        .setSessions(now.sessions());
    Map<Integer, MetricsSample.CoreSample> coresBefore = new HashMap<>();
    if (earlier != null) {
      earlier.cores().forEach(c -> coresBefore.put(c.coreId(), c));
    }
    for (MetricsSample.CoreSample core : now.cores()) {
      MetricsSample.CoreSample before = coresBefore.get(core.coreId());
      long busy = core.busyNanos() - (before == null ? 0 : before.busyNanos());
      long executions = core.executions() - (before == null ? 0 : before.executions());
      out.addCores(CoreMetrics.newBuilder()
          .setCoreId(core.coreId())
          .setDeviceId(core.deviceId())
          .setUtilization(periodNanos <= 0 ? 0 : Math.min(1, (double) busy / periodNanos))
          .setBusyUs(busy / 1e3)
          .setExecutions(executions));
    }
    for (MemoryStats stats : now.memory()) {
      DeviceMemoryUsage.Builder device = DeviceMemoryUsage.newBuilder()
          .setDeviceId(stats.deviceId())
          .setCapacityBytes(stats.capacityBytes())
          .setUsedBytes(stats.usedBytes())
          .setPeakUsedBytes(stats.peakUsedBytes())
          .putAllUsedBytesByCore(stats.byCore());
      stats.byCategory().forEach((category, bytes) ->
          device.putUsedBytesByCategory(category.name().toLowerCase(Locale.ROOT), bytes));
      out.addMemory(device);
    }
    Map<String, MetricsSample.ModelSample> modelsBefore = new HashMap<>();
    if (earlier != null) {
      earlier.models().forEach(m -> modelsBefore.put(m.modelId(), m));
    }
    for (MetricsSample.ModelSample model : now.models()) {
      MetricsSample.ModelSample before = modelsBefore.get(model.modelId());
      out.addModels(ModelMetrics.newBuilder()
          .setModelId(model.modelId())
          .setName(model.name())
          .addAllCoreIds(model.coreIds())
          .setLoadMs(model.loadNanos() / 1e6)
          .setCompleted(model.completed() - (before == null ? 0 : before.completed()))
          .setFailed(model.failed() - (before == null ? 0 : before.failed()))
          .setRejected(model.rejected() - (before == null ? 0 : before.rejected()))
          .setCancelled(model.cancelled() - (before == null ? 0 : before.cancelled()))
          .setLatency(summary(model.total(), before == null ? null : before.total()))
          .setQueue(summary(model.queue(), before == null ? null : before.queue()))
          .setCompute(summary(model.compute(), before == null ? null : before.compute())));
    }
    now.errorsByCode().forEach((code, count) -> {
      long inPeriod = count - (earlier == null ? 0 : earlier.errorsByCode().getOrDefault(code, 0L));
      if (inPeriod > 0) {
        out.putErrors(code, inPeriod);
      }
    });
    return out.build();
  }

  private static LatencySummary summary(LatencyHistogram now, LatencyHistogram earlier) {
    LatencyHistogram period = earlier == null ? now : now.since(earlier);
    return LatencySummary.newBuilder()
        .setP50Us(period.quantileNanos(0.50) / 1e3)
        .setP90Us(period.quantileNanos(0.90) / 1e3)
        .setP99Us(period.quantileNanos(0.99) / 1e3)
        .build();
  }
}
