package io.vnrt.runtime.exec;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.linalg.LinalgOps;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A group of cores that runs one model invocation at a time: the calling thread plus
 * {@code size - 1} long-lived worker threads that split each kernel's tasks between them.
 * Workers spin briefly between kernels (hand-off in well under a microsecond while a plan runs)
 * and park when idle, so an idle group costs no CPU.
 */
public final class CoreGroup implements AutoCloseable {
    private static final long SPIN_NANOS = 50_000;

    private final String name;
    private final int size;
    private final Thread[] workers;
    private final ReentrantLock jobLock = new ReentrantLock();
    /** The current job; each job has its own counters so a late worker cannot touch the next one. */
    private volatile Job job;
    private volatile long generation;
    private volatile boolean closed;
    private final ThreadLocal<Boolean> insideTask = ThreadLocal.withInitial(() -> false);

    /** Starts a group of {@code size} cores (size - 1 worker threads; the caller is the first core). */
    public CoreGroup(String name, int size) {
        this(name, size, () -> { });
    }

    /** Like {@link #CoreGroup(String, int)}; {@code onWorkerStart} runs first on each worker thread. */
    CoreGroup(String name, int size, Runnable onWorkerStart) {
        if (size < 1) {
            throw new IllegalArgumentException("a core group needs at least one core, got " + size);
        }
        this.name = name;
        this.size = size;
        this.workers = new Thread[size - 1];
        for (int i = 0; i < workers.length; i++) {
            int core = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name(name + "-core-" + core).start(() -> {
                onWorkerStart.run();
                LinalgOps.prepareThread();
                workLoop(core);
            });
        }
    }

    public String name() {
        return name;
    }

    public int size() {
        return size;
    }

    /** Splits tasks over the group; see {@link ExecContext#parallelFor}. Nested calls run inline. */
    public void parallelFor(int tasks, ExecContext.TaskBody task) {
        if (tasks <= 0) {
            return;
        }
        if (tasks == 1 || workers.length == 0 || insideTask.get()) {
            for (int t = 0; t < tasks; t++) {
                task.run(t);
            }
            return;
        }
        jobLock.lock();
        try {
            Job current = new Job(task, tasks, size);
            job = current;
            generation++;
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            insideTask.set(true);
            try {
                current.drain(0);
            } finally {
                insideTask.set(false);
            }
            while (current.pending.get() > 0) {
                Thread.onSpinWait();
            }
            job = null;
            Throwable t = current.failure.get();
            if (t instanceof RuntimeException re) {
                throw re;
            } else if (t instanceof Error e) {
                throw e;
            } else if (t != null) {
                throw new IllegalStateException(t);
            }
        } finally {
            jobLock.unlock();
        }
    }

    private static final class Job {
        final ExecContext.TaskBody body;
        final int tasks;
        final int cores;
        final AtomicIntegerArray claimed;
        final AtomicInteger pending;
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(ExecContext.TaskBody body, int tasks, int cores) {
            this.body = body;
            this.tasks = tasks;
            this.cores = cores;
            this.claimed = new AtomicIntegerArray(tasks);
            this.pending = new AtomicInteger(tasks);
        }

        /**
         * Core {@code core} first runs its own tasks (t = core mod cores), then takes any left.
         * A fixed task-to-core mapping keeps the same slice of a weight matrix on the same core
         * run after run, so a model whose weights exceed one core's L2 but not the group's (mlp:
         * 2.6 MB against 2 MB per core) reads them from L2 instead of L3; with a shared counter
         * the slices wandered between cores each run. Stealing keeps the load balanced when a
         * core is late.
         */
        void drain(int core) {
            for (int t = core; t < tasks; t += cores) {
                tryRun(t);
            }
            for (int t = 0; t < tasks; t++) {
                tryRun(t);
            }
        }

        private void tryRun(int t) {
            if (claimed.get(t) != 0 || !claimed.compareAndSet(t, 0, 1)) {
                return;
            }
            try {
                body.run(t);
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            } finally {
                pending.decrementAndGet();
            }
        }
    }

    private void workLoop(int core) {
        insideTask.set(true);
        long seen = 0;
        while (!closed) {
            long gen = generation;
            if (gen != seen) {
                seen = gen;
                Job current = job;
                if (current != null) {
                    current.drain(core);
                }
                continue;
            }
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (generation == seen && !closed && System.nanoTime() < spinUntil) {
                Thread.onSpinWait();
            }
            if (generation == seen && !closed) {
                LockSupport.parkNanos(this, 10_000_000L);
            }
        }
    }

    /**
     * An ExecContext over this group with the given workspace. A one-core group's is the inline
     * context that constant folding at load also runs kernels with: one context class for all
     * single-threaded work, so that code C2 compiled for one does not meet the other as a new
     * receiver type (a class-check trap that throws the compiled kernel away).
     */
    public ExecContext context(java.lang.foreign.MemorySegment workspace) {
        if (workers.length == 0) {
            return ExecContext.inline(workspace);
        }
        return new ExecContext() {
            @Override
            public int parallelism() {
                return size;
            }

            @Override
            public void parallelFor(int tasks, TaskBody task) {
                CoreGroup.this.parallelFor(tasks, task);
            }

            @Override
            public java.lang.foreign.MemorySegment workspace() {
                return workspace;
            }
        };
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
