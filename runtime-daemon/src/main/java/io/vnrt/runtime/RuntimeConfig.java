package io.vnrt.runtime;

import io.vnrt.runtime.exec.BackingChoice;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.session.QuotaLimits;
import io.vnrt.runtime.session.Ticker;
import java.time.Duration;
import java.util.Optional;

/**
 * Everything a {@link VnrtRuntime} is started with. Start from {@link #defaults()} and change
 * what you need with the {@code with...} methods.
 *
 * @param topology devices, cores and HBM per device
 * @param backing where device HBM is mapped from
 * @param hostMemoryBytes capacity of the host pool for PLACEMENT_HOST tensors
 * @param defaultLeaseTtl lease of a session that asks for none
 * @param maxLeaseTtl longest lease granted
 * @param reaperPeriod how often expired sessions are looked for
 * @param streamChunkBytes chunk size of streamed reads when the client names none
 * @param maxTensorsPerSession handles one session may hold at once
 * @param ticker the clock leases are measured with
 * @param sessionQuota what each session may hold
 * @param maxSessions sessions open at once, daemon-wide (0: unlimited)
 * @param loadWarmupRuns executions of the default warm-up of a load that asks for none (0: none)
 * @param loadWarmupBudget how long the default warm-up may go on after those runs, until the model's run
 *     time settles (zero: exactly {@code loadWarmupRuns} runs)
 */
public record RuntimeConfig(Topology topology, BackingChoice backing, long hostMemoryBytes, Duration defaultLeaseTtl,
    Duration maxLeaseTtl, Duration reaperPeriod, int streamChunkBytes, int maxTensorsPerSession, Ticker ticker,
    QuotaLimits sessionQuota, int maxSessions, int loadWarmupRuns, Duration loadWarmupBudget) {

  /** Checks ranges. */
  public RuntimeConfig {
    if (hostMemoryBytes < 4096) {
      throw new IllegalArgumentException("host memory must be at least 4 KiB, got " + hostMemoryBytes + " bytes");
    }
    if (defaultLeaseTtl.isNegative() || defaultLeaseTtl.isZero() || maxLeaseTtl.compareTo(defaultLeaseTtl) < 0) {
      throw new IllegalArgumentException("session leases need 0 < default (" + defaultLeaseTtl + ") <= max ("
          + maxLeaseTtl + ")");
    }
    if (streamChunkBytes < 1 || streamChunkBytes > MAX_CHUNK_BYTES) {
      throw new IllegalArgumentException("stream chunk must be 1 B to 16 MiB, got " + streamChunkBytes);
    }
    if (maxSessions < 0) {
      throw new IllegalArgumentException("max sessions must be 0 (unlimited) or positive, got " + maxSessions);
    }
    if (loadWarmupRuns < 0 || loadWarmupRuns > MAX_LOAD_WARMUP_RUNS) {
      throw new IllegalArgumentException("the default load warm-up must be 0 to " + MAX_LOAD_WARMUP_RUNS
          + " executions, got " + loadWarmupRuns);
    }
    if (loadWarmupBudget.isNegative() || loadWarmupBudget.compareTo(MAX_LOAD_WARMUP_BUDGET) > 0) {
      throw new IllegalArgumentException("the default load warm-up's budget must be 0s to "
          + MAX_LOAD_WARMUP_BUDGET.toSeconds() + "s, got " + loadWarmupBudget.toMillis() + " ms");
    }
  }

  /** Executions of a load's default warm-up unless configured otherwise. */
  public static final int DEFAULT_LOAD_WARMUP_RUNS = 1;
  /** The most executions a default load warm-up may be configured to run. */
  public static final int MAX_LOAD_WARMUP_RUNS = 1000;
  /**
   * How long a load's default warm-up may keep running the model, after its runs, until the run
   * time settles, unless configured otherwise: none. A budget of 5 s did not make the first
   * executions measurably faster on a loaded 2-core machine and made every load up to 5 s longer
   * (bench/README.md, FirstExecutionBench), so settling is asked for with --load-warmup-budget.
   */
  public static final Duration DEFAULT_LOAD_WARMUP_BUDGET = Duration.ZERO;
  /** The longest budget a default load warm-up may be configured with. */
  public static final Duration MAX_LOAD_WARMUP_BUDGET = Duration.ofMinutes(1);

  /** Largest chunk a streamed read may use: one gRPC message of at most 16 MiB of data. */
  public static final int MAX_CHUNK_BYTES = 16 << 20;

  /**
   * One "cpu" device (a core per processor, 4 GiB HBM), anonymous backing, 4 GiB of host
   * memory, 60 s leases (1 h at most), 1 MiB chunks, no quotas, a default warm-up per load of one
   * execution (no settling budget).
   */
  public static RuntimeConfig defaults() {
    return new RuntimeConfig(
        Topology.of(Profile.CPU, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty()),
        new BackingChoice.Anonymous(), 4L << 30, Duration.ofSeconds(60), Duration.ofHours(1), Duration.ofSeconds(1),
        1 << 20, 1 << 20, Ticker.SYSTEM, QuotaLimits.UNLIMITED, 0, DEFAULT_LOAD_WARMUP_RUNS,
        DEFAULT_LOAD_WARMUP_BUDGET);
  }

  /** With other devices. */
  public RuntimeConfig withTopology(Topology t) {
    return new RuntimeConfig(t, backing, hostMemoryBytes, defaultLeaseTtl, maxLeaseTtl, reaperPeriod,
        streamChunkBytes, maxTensorsPerSession, ticker, sessionQuota, maxSessions, loadWarmupRuns,
        loadWarmupBudget);
  }

  /** With another HBM backing. */
  public RuntimeConfig withBacking(BackingChoice b) {
    return new RuntimeConfig(topology, b, hostMemoryBytes, defaultLeaseTtl, maxLeaseTtl, reaperPeriod,
        streamChunkBytes, maxTensorsPerSession, ticker, sessionQuota, maxSessions, loadWarmupRuns,
        loadWarmupBudget);
  }

  /** With another host memory limit. */
  public RuntimeConfig withHostMemoryBytes(long bytes) {
    return new RuntimeConfig(topology, backing, bytes, defaultLeaseTtl, maxLeaseTtl, reaperPeriod,
        streamChunkBytes, maxTensorsPerSession, ticker, sessionQuota, maxSessions, loadWarmupRuns,
        loadWarmupBudget);
  }

  /** With other session leases. */
  public RuntimeConfig withLeases(Duration defaultTtl, Duration maxTtl) {
    return new RuntimeConfig(topology, backing, hostMemoryBytes, defaultTtl, maxTtl, reaperPeriod,
        streamChunkBytes, maxTensorsPerSession, ticker, sessionQuota, maxSessions, loadWarmupRuns,
        loadWarmupBudget);
  }

  /** With another clock (tests) and reaper period. */
  public RuntimeConfig withClock(Ticker t, Duration period) {
    return new RuntimeConfig(topology, backing, hostMemoryBytes, defaultLeaseTtl, maxLeaseTtl, period,
        streamChunkBytes, maxTensorsPerSession, t, sessionQuota, maxSessions, loadWarmupRuns,
        loadWarmupBudget);
  }

  /** With per-session quotas and a daemon-wide session limit (0: unlimited). */
  public RuntimeConfig withQuotas(QuotaLimits quota, int sessions) {
    return new RuntimeConfig(topology, backing, hostMemoryBytes, defaultLeaseTtl, maxLeaseTtl, reaperPeriod,
        streamChunkBytes, maxTensorsPerSession, ticker, quota, sessions, loadWarmupRuns,
        loadWarmupBudget);
  }

  /** With another default load warm-up: {@code runs} executions (0: none), the budget unchanged. */
  public RuntimeConfig withLoadWarmupRuns(int runs) {
    return withLoadWarmup(runs, loadWarmupBudget);
  }

  /**
   * With another default load warm-up: {@code runs} executions (0: none), then until the run time
   * settles for at most {@code budget} (zero: exactly {@code runs}).
   */
  public RuntimeConfig withLoadWarmup(int runs, Duration budget) {
    return new RuntimeConfig(topology, backing, hostMemoryBytes, defaultLeaseTtl, maxLeaseTtl, reaperPeriod,
        streamChunkBytes, maxTensorsPerSession, ticker, sessionQuota, maxSessions, runs, budget);
  }
}
