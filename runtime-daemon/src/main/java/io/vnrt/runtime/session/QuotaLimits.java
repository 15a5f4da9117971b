package io.vnrt.runtime.session;

/**
 * What one session may hold at once; 0 in any field means unlimited.
 *
 * @param hbmBytes bytes of device HBM held by the session's tensors and models (weights, packed weights, scratch;
 *     tensor slices alias, so they do not count)
 * @param models models loaded by the session
 * @param executionsInFlight executions of the session running or queued at once
 */
public record QuotaLimits(long hbmBytes, int models, int executionsInFlight) {
  /** No limit at all. */
  public static final QuotaLimits UNLIMITED = new QuotaLimits(0, 0, 0);

  /** Checks that no limit is negative. */
  public QuotaLimits {
    if (hbmBytes < 0 || models < 0 || executionsInFlight < 0) {
      throw new IllegalArgumentException("quota limits must be 0 (unlimited) or positive, got hbm " + hbmBytes
          + " bytes, " + models + " models, " + executionsInFlight + " executions in flight");
    }
  }
}
