package io.vnrt.runtime.metrics;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import java.util.concurrent.TimeUnit;

/**
 * A timer's cumulative bucket counts at one moment. Two of them give the latency distribution of
 * the executions between them, whose percentiles are interpolated within buckets the way
 * Prometheus' histogram_quantile does.
 *
 * @param boundsNanos the buckets' upper bounds, ascending
 * @param cumulative executions at or below each bound
 * @param count all executions, including those above the last bound
 * @param maxNanos the largest value recorded lately (stands for percentiles past the last bucket)
 */
public record LatencyHistogram(double[] boundsNanos, long[] cumulative, long count, double maxNanos) {
  /** Nothing recorded. */
  public static final LatencyHistogram EMPTY = new LatencyHistogram(new double[0], new long[0], 0, 0);

  /** Reads a timer that publishes a percentile histogram. */
  static LatencyHistogram of(Timer timer) {
    HistogramSnapshot snapshot = timer.takeSnapshot();
    CountAtBucket[] buckets = snapshot.histogramCounts();
    double[] bounds = new double[buckets.length];
    long[] counts = new long[buckets.length];
    for (int i = 0; i < buckets.length; i++) {
      bounds[i] = buckets[i].bucket(TimeUnit.NANOSECONDS);
      counts[i] = (long) buckets[i].count();
    }
    return new LatencyHistogram(bounds, counts, snapshot.count(), snapshot.max(TimeUnit.NANOSECONDS));
  }

  /** The executions recorded after {@code earlier} (a reading of the same timer), up to this reading. */
  public LatencyHistogram since(LatencyHistogram earlier) {
    if (earlier.count == 0 || earlier.cumulative.length != cumulative.length) {
      return this;
    }
    long[] delta = new long[cumulative.length];
    for (int i = 0; i < delta.length; i++) {
      delta[i] = cumulative[i] - earlier.cumulative[i];
    }
    return new LatencyHistogram(boundsNanos, delta, count - earlier.count, maxNanos);
  }

  /** The q-quantile (0..1) in nanoseconds, interpolated linearly within its bucket; 0 when empty. */
  public double quantileNanos(double q) {
    if (count == 0) {
      return 0;
    }
    double rank = q * count;
    for (int i = 0; i < cumulative.length; i++) {
      if (cumulative[i] >= rank && cumulative[i] > 0) {
        double lower = i == 0 ? 0 : boundsNanos[i - 1];
        long below = i == 0 ? 0 : cumulative[i - 1];
        long inBucket = cumulative[i] - below;
        double fraction = inBucket == 0 ? 1 : (rank - below) / inBucket;
        return lower + (boundsNanos[i] - lower) * fraction;
      }
    }
    // past the last bucket: the largest value seen is the best bound there is
    return Math.max(maxNanos, cumulative.length == 0 ? 0 : boundsNanos[cumulative.length - 1]);
  }
}
