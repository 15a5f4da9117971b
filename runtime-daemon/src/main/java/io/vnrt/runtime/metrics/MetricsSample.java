package io.vnrt.runtime.metrics;

import io.vnrt.runtime.memory.MemoryStats;
import java.util.List;
import java.util.Map;

/**
 * Cumulative runtime counters at one moment: the Monitor service turns two samples into the
 * activity of the period between them.
 *
 * @param wallMillis when it was taken, milliseconds since the epoch
 * @param nanos when it was taken, on the runtime's ticker
 * @param cores every core, by global id
 * @param memory every device's pool
 * @param models the loaded models, by id
 * @param errorsByCode calls that ended with a status other than OK, by status code name
 * @param sessions open sessions
 */
public record MetricsSample(long wallMillis, long nanos, List<CoreSample> cores, List<MemoryStats> memory,
    List<ModelSample> models, Map<String, Long> errorsByCode, int sessions) {

  /** One core's cumulative activity. */
  public record CoreSample(int deviceId, int coreId, long busyNanos, long executions) {
  }

  /**
   * One loaded model's cumulative executions and latency histograms (of successful executions).
   *
   * @param coreIds the global ids of the cores it runs on
   * @param loadNanos how long loading it took
   */
  public record ModelSample(String modelId, String name, List<Integer> coreIds, long loadNanos, long completed,
      long failed, long rejected, long cancelled, LatencyHistogram queue, LatencyHistogram compute,
      LatencyHistogram total) {
  }

  /** Copies the collections. */
  public MetricsSample {
    cores = List.copyOf(cores);
    memory = List.copyOf(memory);
    models = List.copyOf(models);
    errorsByCode = Map.copyOf(errorsByCode);
  }
}
