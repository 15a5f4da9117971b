package io.vnrt.runtime.models;

import io.vnrt.runtime.VnrtRuntimeException;
import java.time.Duration;
import java.util.Map;

/**
 * Executions a load runs with generated inputs before it returns, so the first real requests
 * find the plan compiled and the kernels JIT-compiled.
 *
 * @param runs at least this many executions
 * @param time and keep going until this much time has passed (the JIT compiles after a while,
 *     not after a count); zero for none
 * @param dims sizes of symbolic dims for the generated inputs; others are 1
 */
public record Warmup(int runs, Duration time, Map<String, Long> dims) {
  static final int MAX_RUNS = 100_000;
  static final Duration MAX_TIME = Duration.ofMinutes(1);
  /** No warm-up. */
  public static final Warmup NONE = new Warmup(0, Duration.ZERO, Map.of());

  /** Checks the limits (INVALID_ARGUMENT naming the field) and copies the dims. */
  public Warmup {
    if (runs < 0 || runs > MAX_RUNS) {
      throw VnrtRuntimeException.invalid("warmup_runs must be between 0 and " + MAX_RUNS + ", got "
          + Integer.toUnsignedString(runs), "warmup_runs", Integer.toUnsignedString(runs));
    }
    if (time.isNegative() || time.compareTo(MAX_TIME) > 0) {
      throw VnrtRuntimeException.invalid("warmup_ms must be between 0 and " + MAX_TIME.toMillis() + ", got "
          + time.toMillis(), "warmup_ms", time.toMillis());
    }
    for (Map.Entry<String, Long> e : dims.entrySet()) {
      if (e.getValue() < 1) {
        throw VnrtRuntimeException.invalid("warmup_dims['" + e.getKey() + "'] must be at least 1, got "
            + e.getValue(), "warmup_dims", e.getKey());
      }
    }
    dims = Map.copyOf(dims);
  }

  /** True when the load runs nothing. */
  public boolean none() {
    return runs == 0 && time.isZero();
  }
}
