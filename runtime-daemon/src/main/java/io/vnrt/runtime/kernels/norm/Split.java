package io.vnrt.runtime.kernels.norm;

/** How many parallel tasks a piece of work deserves: a hand-off costs microseconds, so small ops run inline. */
final class Split {
    /** Element-operations below which one more task is not worth its hand-off. */
    static final long MIN_WORK_PER_TASK = 64 * 1024;

    private Split() {}

    /** Tasks for {@code work} element-ops split into at most {@code units} independent pieces. */
    static int tasks(long work, long units, int parallelism) {
        long byWork = Math.max(1, work / MIN_WORK_PER_TASK);
        return (int) Math.max(1, Math.min(Math.min(byWork, units), parallelism));
    }

    /** First unit of task {@code t} when {@code units} are split evenly over {@code tasks}. */
    static long start(long units, int tasks, int t) {
        return units * t / tasks;
    }
}
