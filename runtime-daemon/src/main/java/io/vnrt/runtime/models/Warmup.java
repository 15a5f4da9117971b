package io.vnrt.runtime.models;

import io.vnrt.runtime.VnrtRuntimeException;
import java.time.Duration;
import java.util.Map;

/**
 * Executions a load runs with generated inputs before it returns, so the first real requests
 * find the plan compiled, the scratch memory touched and the kernels JIT-compiled.
 *
 * @param runs at least this many executions
 * @param time and keep going until this much time has passed (the JIT compiles after a while,
 *     not after a count); zero for none
 * @param dims sizes of symbolic dims for the generated inputs; others are 1
 * @param byDefault the load asked for nothing: the runtime's default warm-up applies, and a
 *     failure of it (a model whose generated inputs it cannot run) does not fail the load
 */
public record Warmup(int runs, Duration time, Map<String, Long> dims, boolean byDefault) {
  static final int MAX_RUNS = 100_000;
  static final Duration MAX_TIME = Duration.ofMinutes(1);
  /** No warm-up. */
  public static final Warmup NONE = new Warmup(0, Duration.ZERO, Map.of(), false);
  /** The runtime's default warm-up, symbolic dims 1. */
  public static final Warmup DEFAULT = byDefault(Map.of());

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

  /** An explicit warm-up: at least {@code runs} executions and until {@code time} has passed. */
  public Warmup(int runs, Duration time, Map<String, Long> dims) {
    this(runs, time, dims, false);
  }

  /** The runtime's default warm-up with these dims (what a load that asks for none gets). */
  public static Warmup byDefault(Map<String, Long> dims) {
    return new Warmup(0, Duration.ZERO, dims, true);
  }

  /**
   * What a LoadModel header asks for: {@code skip} is none; no runs and no time is the default
   * with {@code dims}; anything else exactly that.
   */
  public static Warmup requested(int runs, Duration time, Map<String, Long> dims, boolean skip) {
    if (skip) {
      if (runs != 0 || !time.isZero()) {
        throw VnrtRuntimeException.invalid("skip_warmup contradicts warmup_runs " + Integer.toUnsignedString(runs)
            + " and warmup_ms " + time.toMillis() + ": ask for one or the other", "skip_warmup", "true");
      }
      return NONE;
    }
    return runs == 0 && time.isZero() ? byDefault(dims) : new Warmup(runs, time, dims);
  }

  /** This warm-up with the runtime's default of {@code defaultRuns} applied (none when that is 0). */
  Warmup resolve(int defaultRuns) {
    return byDefault ? new Warmup(defaultRuns, Duration.ZERO, dims, true) : this;
  }

  /** True when the load runs nothing. */
  public boolean none() {
    return runs == 0 && time.isZero();
  }
}
