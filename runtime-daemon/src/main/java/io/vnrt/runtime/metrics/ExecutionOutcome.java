package io.vnrt.runtime.metrics;

import java.util.Locale;

/** How an execution ended, as the {@code outcome} label of the execution counter. */
public enum ExecutionOutcome {
  /** Ran to completion; its latencies are recorded. */
  OK,
  /** Ran and failed (a kernel error, a bad input found while running). */
  FAILED,
  /** Refused before it ran: a full queue, a quota, a draining daemon. */
  REJECTED,
  /** The client cancelled it or its deadline passed. */
  CANCELLED;

  /** The label value: "ok", "failed", ... */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
