package io.vnrt.runtime.models;

import java.util.function.BooleanSupplier;

/**
 * What a load in progress keeps checking, between its warm-up runs and before the model is
 * registered: whether its caller has gone away, and its deadline. A load past either fails and
 * leaves nothing behind.
 *
 * @param cancelled true once the caller has cancelled or gone away
 * @param deadlineNanos the caller's deadline on {@link System#nanoTime()}'s clock, or {@link Long#MAX_VALUE}
 */
public record LoadWatch(BooleanSupplier cancelled, long deadlineNanos) {
  /** A caller that never gives up (in-process loads without a deadline). */
  public static final LoadWatch NONE = new LoadWatch(() -> false, Long.MAX_VALUE);

  /** True once the caller's deadline has passed. */
  boolean expired() {
    return deadlineNanos != Long.MAX_VALUE && System.nanoTime() - deadlineNanos > 0;
  }
}
