package io.vnrt.runtime.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The warm-up of {@code vnrt run} before it measures: a number of executions, or (the default) a
 * time, extended until latency is steady, because the JIT compiles the kernels after a while, not
 * after a count, and a measurement taken before that reports the interpreter.
 *
 * @param runs executions to run, when given as a count (then {@code time} is zero)
 * @param time how long to warm up at least, when given as a duration
 */
record RunWarmup(int runs, Duration time) {
  /** The default: two seconds, extended while latency still falls. */
  static final String DEFAULT = "2s";
  /** A time-based warm-up stops extending itself at this multiple of the time asked. */
  static final int MAX_EXTENSION = 5;
  /** Latency is steady when the median of the last tenth of the runs is within this of the tenth before. */
  static final double STEADY = 0.05;

  /** What the warm-up did. */
  record Outcome(int runs, Duration took, boolean steady, double lastP50Ms, double previousP50Ms) {
    /** "warm-up: 4210 executions in 2.0 s, steady (p50 0.412 ms over the last tenth, 0.415 ms the tenth before)". */
    String describe(RunWarmup asked) {
      if (runs == 0) {
        return "warm-up: none";
      }
      String base = String.format(Locale.ROOT, "warm-up: %d executions in %.1f s", runs, took.toNanos() / 1e9);
      if (asked.time().isZero() || runs < 20) {
        return base;
      }
      String medians = String.format(Locale.ROOT, "p50 %.3f ms over the last tenth, %.3f ms the tenth before",
          lastP50Ms, previousP50Ms);
      return base + (steady ? ", steady (" + medians + ")"
          : ", still getting faster when it stopped at " + MAX_EXTENSION + "x --warmup (" + medians
              + "): the figures below may not be steady");
    }
  }

  /** Parses {@code --warmup}: a duration such as 2s, 500ms or 1m, or a bare count of executions such as 500. */
  static RunWarmup parse(String text) {
    String t = text.strip();
    if (t.matches("\\d+")) {
      return new RunWarmup(Integer.parseInt(t), Duration.ZERO);
    }
    Duration d;
    try {
      d = t.matches("\\d+(ms|s|m)") ? DaemonSettings.duration(t) : null;
    } catch (IllegalArgumentException e) {
      d = null;
    }
    if (d == null) {
      throw new IllegalArgumentException("--warmup takes a duration such as 2s, 500ms or 1m, or a number of "
          + "executions such as 500; got '" + text + "'");
    }
    return new RunWarmup(0, d);
  }

  /** Runs {@code execution} (which returns its latency in nanoseconds) as this warm-up says. */
  Outcome run(LongSupplier execution) {
    long start = System.nanoTime();
    if (time.isZero()) {
      for (int i = 0; i < runs; i++) {
        execution.getAsLong();
      }
      return new Outcome(runs, Duration.ofNanos(System.nanoTime() - start), true, 0, 0);
    }
    List<Long> latencies = new ArrayList<>();
    long until = start + time.toNanos();
    long limit = start + time.toNanos() * MAX_EXTENSION;
    while (true) {
      latencies.add(execution.getAsLong());
      long now = System.nanoTime();
      if (now >= until && (steady(latencies) || now >= limit)) {
        break;
      }
    }
    int n = latencies.size();
    return new Outcome(n, Duration.ofNanos(System.nanoTime() - start), steady(latencies), tenthP50(latencies, 1),
        tenthP50(latencies, 2));
  }

  /** True when the last tenth of the runs is not faster than the tenth before by more than {@link #STEADY}. */
  static boolean steady(List<Long> latencies) {
    if (latencies.size() < 20) {
      return false;
    }
    return tenthP50(latencies, 1) >= tenthP50(latencies, 2) * (1 - STEADY);
  }

  /** Median in milliseconds of the {@code k}-th last tenth of the runs (1: the last). */
  private static double tenthP50(List<Long> latencies, int k) {
    int tenth = latencies.size() / 10;
    if (tenth == 0) {
      return 0;
    }
    int to = latencies.size() - (k - 1) * tenth;
    long[] part = latencies.subList(to - tenth, to).stream().mapToLong(Long::longValue).sorted().toArray();
    return part[part.length / 2] / 1e6;
  }
}
