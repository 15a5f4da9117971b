package io.vnrt.runtime.models;

import java.time.Duration;

/**
 * What a load's warm-up did.
 *
 * @param time wall time of the warm-up executions (zero when none ran)
 * @param runs executions run
 * @param note why the default warm-up did not run, when it did not; empty otherwise
 */
public record WarmupOutcome(Duration time, int runs, String note) {
  /** Nothing ran and nothing is to be said. */
  public static final WarmupOutcome NONE = new WarmupOutcome(Duration.ZERO, 0, "");
}
