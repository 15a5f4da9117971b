package io.vnrt.runtime.kernels;

import java.lang.foreign.MemorySegment;

/** What a running kernel gets from the executor: the core group's threads and its workspace. */
public interface ExecContext {

    /** Number of threads (cores) available to split work over; 1 means run inline. */
    int parallelism();

    /**
     * Runs {@code body.run(task)} for task in [0, tasks) across the core group, the calling thread
     * included, and returns when all are done. Kernels choose tasks so each is worth a hand-off
     * (tens of microseconds of work); with tasks == 1 the body runs inline.
     */
    void parallelFor(int tasks, TaskBody body);

    /** Temporary space of at least {@link Kernel#workspaceBytes()} bytes, valid during run(). */
    MemorySegment workspace();

    /** A unit of parallel work. */
    @FunctionalInterface
    interface TaskBody {
        void run(int task);
    }

    /** Single-threaded context with the given workspace, for constant folding and tests. */
    static ExecContext inline(MemorySegment workspace) {
        return new ExecContext() {
            @Override
            public int parallelism() {
                return 1;
            }

            @Override
            public void parallelFor(int tasks, TaskBody body) {
                for (int t = 0; t < tasks; t++) {
                    body.run(t);
                }
            }

            @Override
            public MemorySegment workspace() {
                return workspace;
            }
        };
    }
}
