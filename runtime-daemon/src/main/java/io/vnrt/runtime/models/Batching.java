package io.vnrt.runtime.models;

import java.time.Duration;

/**
 * Dynamic batching of one model: concurrent requests whose inputs differ only in dimension 0 run
 * as one merged batch of at most {@code maxBatchSize} rows, the first waiting at most
 * {@code maxQueueDelay} for others.
 *
 * @param maxBatchSize largest merged batch (rows along dimension 0); 1 or less disables batching
 * @param maxQueueDelay longest the first request of a batch waits for more
 */
public record Batching(int maxBatchSize, Duration maxQueueDelay) {
  /** No batching: every request runs alone. */
  public static final Batching NONE = new Batching(1, Duration.ZERO);

  /** Checks ranges. */
  public Batching {
    if (maxQueueDelay == null || maxQueueDelay.isNegative()) {
      throw new IllegalArgumentException("max queue delay must be >= 0, got " + maxQueueDelay);
    }
  }

  /** True when requests may be merged. */
  public boolean enabled() {
    return maxBatchSize > 1;
  }
}
