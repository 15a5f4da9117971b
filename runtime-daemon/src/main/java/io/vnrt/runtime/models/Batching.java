package io.vnrt.runtime.models;

import java.time.Duration;
import java.util.List;

/**
 * Dynamic batching of one model: concurrent requests whose inputs differ only in dimension 0 run
 * as one merged batch of at most {@code maxBatchSize} rows, the first waiting at most
 * {@code maxQueueDelay} for others. With preferred sizes (Triton's preferred_batch_size), a batch
 * whose leading requests add up to the largest preferred size that can be formed runs at once,
 * without waiting out the delay.
 *
 * @param maxBatchSize largest merged batch (rows along dimension 0); 1 or less disables batching
 * @param maxQueueDelay longest the first request of a batch waits for more
 * @param preferredBatchSizes batch sizes run as soon as they can be formed, ascending, each 1 to
 *     {@code maxBatchSize}; empty: only a full batch runs before the delay
 */
public record Batching(int maxBatchSize, Duration maxQueueDelay, List<Integer> preferredBatchSizes) {
  /** No batching: every request runs alone. */
  public static final Batching NONE = new Batching(1, Duration.ZERO);

  /** Checks ranges; sorts and copies the preferred sizes. */
  public Batching {
    if (maxQueueDelay == null || maxQueueDelay.isNegative()) {
      throw new IllegalArgumentException("max queue delay must be >= 0, got " + maxQueueDelay);
    }
    preferredBatchSizes = preferredBatchSizes.stream().sorted().distinct().toList();
    for (int p : preferredBatchSizes) {
      if (p < 1 || p > Math.max(1, maxBatchSize)) {
        throw new IllegalArgumentException("preferred batch size " + p + " is not within 1.." + maxBatchSize
            + " (the max batch size)");
      }
    }
  }

  /** Without preferred sizes. */
  public Batching(int maxBatchSize, Duration maxQueueDelay) {
    this(maxBatchSize, maxQueueDelay, List.of());
  }

  /** True when requests may be merged. */
  public boolean enabled() {
    return maxBatchSize > 1;
  }
}
