package io.vnrt.runtime.models;

/**
 * How many runs a load's warm-up makes: at least {@code minRuns} and, for an explicit warm-up,
 * until its time has passed; the runtime's default warm-up then keeps going until the model's run
 * time settles, for at most its budget. The JIT compiles a kernel only after it has run many times
 * and compiles it in the background, so the run time falls in steps at moments that depend on the
 * compile queue; the warm-up follows them instead of guessing a count.
 *
 * <p>Settled means: the best run time has not improved by {@value #IMPROVEMENT_PERCENT}% for
 * {@value #PATIENCE_RUNS} runs, and for at least 250 ms (a C2 compile takes that long, so a
 * shorter plateau is the JIT's C1 code waiting for it) and at least half as long as it took to
 * get there from the end of the first run (which compiles the plan, and is not compared). A small
 * model thus settles in about a quarter of a second, one that kept improving for two seconds
 * waits one second more. Fed the clock by its caller, so that tests drive it with chosen times.
 */
final class WarmupRuns {
  static final int IMPROVEMENT_PERCENT = 10;
  static final int PATIENCE_RUNS = 5;
  static final long PATIENCE_NANOS = 250_000_000L;

  private final int minRuns;
  private final long until;
  private final long settleUntil;
  private int runs;
  private long origin;
  private long best = Long.MAX_VALUE;
  private long improvedAt;
  private int runsSinceImprovement;

  /**
   * A warm-up starting at {@code start} (nanoseconds of the caller's clock) of at least
   * {@code minRuns} runs (and at least one), running on while the clock is before {@code until},
   * and then, while unsettled, before {@code settleUntil} (no later than {@code until} for none).
   */
  WarmupRuns(int minRuns, long until, long settleUntil) {
    this.minRuns = Math.max(1, minRuns);
    this.until = until;
    this.settleUntil = settleUntil;
  }

  /**
   * The runs of warm-up {@code w} from {@code start}: a default warm-up settles for at most
   * {@code budget}, and for at most half the time left until {@code deadline} (a load's caller's;
   * {@code Long.MAX_VALUE}: none), so that settling never makes a load miss its deadline.
   */
  static WarmupRuns of(Warmup w, java.time.Duration budget, long start, long deadline) {
    long until = start + w.time().toNanos();
    if (!w.byDefault() || budget.isZero()) {
      return new WarmupRuns(w.runs(), until, until);
    }
    long settle = budget.toNanos();
    if (deadline != Long.MAX_VALUE) {
      settle = Math.min(settle, Math.max(0, (deadline - start) / 2));
    }
    return new WarmupRuns(w.runs(), until, Math.max(until, start + settle));
  }

  /** Records a run that took {@code nanos} and ended at {@code end}. */
  void record(long nanos, long end) {
    runs++;
    if (runs == 1) {
      origin = end;
      improvedAt = end;
      return;
    }
    if (best == Long.MAX_VALUE || nanos < best - best / 100 * IMPROVEMENT_PERCENT) {
      improvedAt = end;
      runsSinceImprovement = 0;
    } else {
      runsSinceImprovement++;
    }
    best = Math.min(best, nanos);
  }

  /** Runs recorded. */
  int runs() {
    return runs;
  }

  /** True while another run is due at {@code now}. */
  boolean more(long now) {
    if (runs < minRuns || now - until < 0) {
      return true;
    }
    return now - settleUntil < 0 && !settled(now);
  }

  /** True once the run time has stopped improving (see the class comment). */
  boolean settled(long now) {
    return runs >= 2 && runsSinceImprovement >= PATIENCE_RUNS
        && now - improvedAt >= Math.max(PATIENCE_NANOS, (improvedAt - origin) / 2);
  }
}
