package io.vnrt.runtime.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** When a load's warm-up stops: its runs, its time, and the default one's settling within its budget. */
class WarmupRunsTest {
  private static final long MS = 1_000_000L;
  private static final Duration BUDGET = Duration.ofSeconds(5);

  /** Feeds runs of the given durations (ms) from time 0 until the warm-up stops; returns how many ran. */
  private static int run(WarmupRuns w, long... millis) {
    long now = 0;
    for (long ms : millis) {
      if (!w.more(now)) {
        break;
      }
      now += ms * MS;
      w.record(ms * MS, now);
    }
    return w.runs();
  }

  private static long[] repeat(long ms, int n) {
    long[] out = new long[n];
    java.util.Arrays.fill(out, ms);
    return out;
  }

  @Test
  void anExplicitWarmUpRunsItsRunsAndItsTimeAndNoMore() {
    assertEquals(3, run(WarmupRuns.of(new Warmup(3, Duration.ZERO, Map.of()), BUDGET, 0, Long.MAX_VALUE),
        repeat(1, 100)), "three runs asked for, no settling");
    assertEquals(10, run(WarmupRuns.of(new Warmup(1, Duration.ofMillis(100), Map.of()), BUDGET, 0, Long.MAX_VALUE),
        repeat(10, 100)), "runs until 100 ms have passed");
    assertEquals(1, run(WarmupRuns.of(new Warmup(0, Duration.ZERO, Map.of()), BUDGET, 0, Long.MAX_VALUE),
        repeat(1, 100)), "at least one run");
  }

  @Test
  void theDefaultWarmUpWithNoBudgetRunsExactlyItsRuns() {
    Warmup w = Warmup.DEFAULT.resolve(2);
    assertEquals(2, run(WarmupRuns.of(w, Duration.ZERO, 0, Long.MAX_VALUE), repeat(1, 100)));
  }

  @Test
  void aSteadyModelSettlesAfterThePatienceTime() {
    WarmupRuns w = WarmupRuns.of(Warmup.DEFAULT.resolve(1), BUDGET, 0, Long.MAX_VALUE);
    // the plan-compiling run (50 ms), the first compared run (ending at 51 ms), then 250 ms of 1 ms runs
    long[] runs = repeat(1, 1000);
    runs[0] = 50;
    assertEquals(2 + 250, run(w, runs));
    assertTrue(w.settled(301 * MS));
  }

  @Test
  void aSlowSteadyModelSettlesAfterThePatienceRuns() {
    WarmupRuns w = WarmupRuns.of(Warmup.DEFAULT.resolve(1), BUDGET, 0, Long.MAX_VALUE);
    // 100 ms runs: the five runs without a gain take longer than the 250 ms
    assertEquals(2 + WarmupRuns.PATIENCE_RUNS, run(w, repeat(100, 100)));
  }

  @Test
  void aPlateauOfTheJitsFirstTierDoesNotEndIt() {
    WarmupRuns w = WarmupRuns.of(Warmup.DEFAULT.resolve(1), BUDGET, 0, Long.MAX_VALUE);
    // 10 ms runs for 200 ms (C1 code), then 2 ms runs (C2): the plateau was shorter than 250 ms
    long[] runs = new long[1 + 20 + 1000];
    java.util.Arrays.fill(runs, 0, 21, 10);
    java.util.Arrays.fill(runs, 21, runs.length, 2);
    assertEquals(1 + 20 + 1 + 125, run(w, runs), "ran 250 ms of 2 ms runs past the last gain");
  }

  @Test
  void aModelThatImprovedForLongWaitsHalfAsLongAgain() {
    WarmupRuns w = WarmupRuns.of(Warmup.DEFAULT.resolve(1), BUDGET, 0, Long.MAX_VALUE);
    // 100 ms runs getting 11% faster every fourth run for 40 runs (about 2.6 s), then steady
    long now = 0;
    long origin = 0;
    long lastGain = 0;
    long run = 100 * MS;
    for (int i = 0; w.more(now); i++) {
      now += run;
      w.record(run, now);
      if (i == 0) {
        origin = now;
      }
      if (i < 40 && i % 4 == 3) {
        run = run * 89 / 100;
        lastGain = now + run; // the next run is the faster one
      }
    }
    long wait = (lastGain - origin) / 2;
    assertTrue(wait > WarmupRuns.PATIENCE_NANOS, "the gains went on for longer than twice the patience time");
    assertTrue(now - lastGain >= wait && now - lastGain < wait + run, "waited half as long as the gains took ("
        + wait / MS + " ms) after the last: " + (now - lastGain) / MS + " ms");
  }

  /** Runs that get 11% faster every fourth run (never five runs without a gain) until the warm-up stops. */
  private static long improving(WarmupRuns w, long firstMs) {
    long now = 0;
    long run = firstMs * MS;
    for (int i = 0; w.more(now); i++) {
      now += run;
      w.record(run, now);
      if (i % 4 == 3) {
        run = run * 89 / 100;
      }
    }
    assertFalse(w.settled(now));
    return now;
  }

  @Test
  void theDefaultWarmUpStopsAtItsBudgetWhileTheRunTimeStillImproves() {
    long end = improving(WarmupRuns.of(Warmup.DEFAULT.resolve(1), Duration.ofSeconds(1), 0, Long.MAX_VALUE), 100);
    assertTrue(end >= 1000 * MS && end < 1100 * MS, "stopped at the first run past the 1 s budget: " + end / MS);
  }

  @Test
  void settlingTakesAtMostHalfTheTimeLeftBeforeTheLoadsDeadline() {
    long end = improving(WarmupRuns.of(Warmup.DEFAULT.resolve(1), BUDGET, 0, 600 * MS), 10);
    assertTrue(end >= 300 * MS && end < 310 * MS, "stopped at half the 600 ms left: " + end / MS + " ms");
  }

  @Test
  void theMinimumRunsComeFirstWhateverTheBudgetOrDeadline() {
    WarmupRuns w = WarmupRuns.of(Warmup.DEFAULT.resolve(4), Duration.ofMillis(1), 0, 1);
    assertEquals(4, run(w, repeat(100, 10)));
  }
}
