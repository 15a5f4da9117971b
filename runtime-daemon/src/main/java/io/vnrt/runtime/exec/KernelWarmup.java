package io.vnrt.runtime.exec;

import io.vnrt.runtime.graph.ModelLoadException;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Compiles the engine's kernels in the background at daemon start, so that the first execution
 * of the first model loaded does not run them in the interpreter: the Vector API runs boxed, 10
 * to 100 times slower, until C2 has compiled a kernel, and C2 compiles a method only after it
 * has run many times. The warm-up runs {@link WarmupModels} (every kernel family at the chosen
 * vector width, with edge tiles, tails and the multi-core splits) round-robin until each model's
 * run time has stopped improving, the float families first and then the int8 ones, then stops
 * and says so.
 *
 * <p>Its memory is of the kind real executions bring, because C2 specialises a kernel for the
 * kinds of memory segment it has seen and throws the compiled code away on meeting another:
 * weights, activations and inputs in a pool of the devices' backing (anonymous or file-mapped).
 * Not the heap: the daemon copies inputs that arrive on the heap into native memory, and kernels
 * that have seen heap and native segments are compiled slower for both (their vector loads are
 * no longer intrinsified: a ResNet-50 ran 40 ms a run in a daemon whose warm-up fed heap inputs,
 * 28 in one process that never saw them).
 *
 * <p>It never competes with real work: its threads take the lowest OS priority (nice 19), it
 * waits while {@code busy} reports loads or executions in progress, and it stops at its time
 * budget whatever it has reached. It takes none of the devices' HBM: its pool is its own (128 MiB
 * of address space, of which the warm-up models, loaded once on the group and once on one core,
 * touch under half), unmapped when it ends.
 */
public final class KernelWarmup implements AutoCloseable {
    /** Runs each warm-up model gets at least: enough invocations for C2 to compile a kernel whole, not just its loops. */
    static final int MIN_RUNS = 700;
    /** A model's warm-up is over when its best run time has not improved by this fraction... */
    static final double IMPROVEMENT = 0.10;
    /** ...for this long (C2 compiles take hundreds of milliseconds, so a short plateau is not the end)... */
    static final long PATIENCE_NANOS = 400_000_000L;
    /** ...and over this many of its runs. */
    static final int PATIENCE_RUNS = 100;
    /**
     * Runs of each model's one-core copy: there for the profiles (the single-task branches, the
     * context constant folding also uses), not to be compiled again, so a few suffice.
     */
    static final int ONE_CORE_RUNS = 100;
    private static final long BUSY_POLL_NANOS = 2_000_000L;

    /**
     * How one warm-up model went.
     *
     * @param name the model (a kernel family group)
     * @param runs runs so far
     * @param first the first timed run
     * @param best the fastest run
     * @param settled when its run time stopped improving, from the warm-up's start (zero while it improves)
     */
    public record ModelRun(String name, long runs, Duration first, Duration best, Duration settled) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s: %d runs, first %.2f ms, best %.3f ms%s", name, runs,
                    first.toNanos() / 1e6, best.toNanos() / 1e6,
                    settled.isZero() ? "" : String.format(Locale.ROOT, ", settled at %.1f s", settled.toNanos() / 1e9));
        }
    }

    /**
     * What the warm-up did, for the log and GetRuntimeInfo.
     *
     * @param state where it is
     * @param models each warm-up model's runs
     * @param runs runs of all models
     * @param elapsed since it started
     * @param yielded time spent waiting for real work to finish
     * @param failed models that could not be loaded or run, with the reason (a bug to report)
     */
    public record Report(State state, List<ModelRun> models, long runs, Duration elapsed, Duration yielded,
            List<String> failed) {
        /** One line: "done: 14 kernel-family models, 4200 runs in 4.2 s (waited 0.3 s for real work)". */
        public String describe() {
            String s = switch (state) {
                case RUNNING -> "running";
                case DONE -> "done";
                case BUDGET_SPENT -> "stopped at its time budget";
                case STOPPED -> "stopped";
            };
            String detail = String.format(Locale.ROOT, "%s: %d kernel-family models, %d runs in %.1f s (waited %.1f s "
                    + "for real work)", s, models.size(), runs, elapsed.toNanos() / 1e9, yielded.toNanos() / 1e9);
            return failed.isEmpty() ? detail : detail + "; could not run " + String.join(", ", failed);
        }
    }

    /** Where the warm-up is. */
    public enum State {
        /** Still compiling. */
        RUNNING,
        /** Every model's run time settled. */
        DONE,
        /** The budget ran out first. */
        BUDGET_SPENT,
        /** Stopped by {@link #close()} (the daemon is shutting down). */
        STOPPED
    }

    /** HBM of the warm-up's own pool: every warm-up model, loaded twice, fits in it with room to spare. */
    private static final long POOL_BYTES = 128L << 20;

    private final Duration budget;
    private final int cores;
    private final BackingChoice backing;
    private final BooleanSupplier busy;
    private final boolean background;
    private final LongSupplier clock;
    private final CompletableFuture<Report> finished = new CompletableFuture<>();
    private final Thread thread;
    private volatile boolean stop;
    private volatile Report progress;
    private final long startNanos;

    private KernelWarmup(Duration budget, int cores, BackingChoice backing, BooleanSupplier busy, boolean background,
            LongSupplier clock) {
        this.budget = budget;
        this.cores = cores;
        this.backing = backing;
        this.busy = busy;
        this.background = background;
        this.clock = clock;
        this.progress = new Report(State.RUNNING, List.of(), 0, Duration.ZERO, Duration.ZERO, List.of());
        this.startNanos = clock.getAsLong();
        this.thread = Thread.ofPlatform().daemon().name("vnrt-kernel-warmup").unstarted(this::run);
    }

    /**
     * Starts warming up on a group of {@code cores} cores for at most {@code budget}, in memory of
     * the devices' {@code backing}, pausing whenever {@code busy} is true.
     */
    public static KernelWarmup start(Duration budget, int cores, BackingChoice backing, BooleanSupplier busy) {
        KernelWarmup w = new KernelWarmup(budget, cores, backing, busy, true, System::nanoTime);
        w.thread.start();
        return w;
    }

    /**
     * Runs the whole warm-up at the normal priority, never pausing, and returns its report: the
     * workload of the JVM's ahead-of-time cache training run ({@code vnrt aot-train}), which
     * must see every kernel compiled as the daemon's background warm-up would compile it.
     */
    public static Report runInForeground(Duration budget, int cores, BackingChoice backing) {
        KernelWarmup w = new KernelWarmup(budget, cores, backing, () -> false, false, System::nanoTime);
        w.thread.start();
        return w.finished.join();
    }

    /** The warm-up models by name (serialized ONNX), cheapest first: every kernel family at this vector width. */
    public static Map<String, byte[]> models() {
        Map<String, byte[]> models = new LinkedHashMap<>();
        WarmupModels.all().forEach(m -> models.put(m.name(), m.onnx()));
        return models;
    }

    /** Completes with the final report when the warm-up ends, however it ends. */
    public CompletableFuture<Report> finished() {
        return finished;
    }

    /** The report so far (state RUNNING until it ends). */
    public Report report() {
        Report r = progress;
        return r.state() != State.RUNNING ? r : new Report(r.state(), r.models(), r.runs(),
                Duration.ofNanos(clock.getAsLong() - startNanos), r.yielded(), r.failed());
    }

    /** One warm-up model and how its run times went. */
    private static final class Subject {
        final String name;
        final LoadedModel model;
        /** The inputs, in the pool (native memory, as every execution's inputs are). */
        final Map<String, Tensor> inputs;
        final List<ModelMemory.Allocation> held = new ArrayList<>();
        Map<String, Tensor> outputs;
        long runs;
        long first;
        long best = Long.MAX_VALUE;
        long bestAtNanos;
        long bestAtRun;
        long settledAt;
        /** Runs after which the model is done (its one-core copy), or 0 to run until settled. */
        final int maxRuns;

        Subject(String name, LoadedModel model, ModelMemory memory, Map<String, Long> dims, long now, int maxRuns) {
            this.name = name;
            this.model = model;
            this.maxRuns = maxRuns;
            Map<String, Tensor> pooled = new LinkedHashMap<>();
            try (Arena arena = Arena.ofConfined()) {
                copyInto(memory, GeneratedInputs.of(model.inputs(), dims, arena), pooled);
            } catch (RuntimeException e) {
                held.forEach(ModelMemory.Allocation::close);
                throw e;
            }
            this.inputs = pooled;
            this.bestAtNanos = now;
        }

        private void copyInto(ModelMemory memory, Map<String, Tensor> generated, Map<String, Tensor> pooled) {
            for (Map.Entry<String, Tensor> e : generated.entrySet()) {
                Tensor t = e.getValue();
                ModelMemory.Allocation a = memory.allocate(Math.max(1, t.byteSize()), ModelMemory.Purpose.SCRATCH,
                        "warm-up input " + e.getKey());
                held.add(a);
                MemorySegment s = a.segment().asSlice(0, t.byteSize());
                s.copyFrom(t.data());
                pooled.put(e.getKey(), new Tensor(t.dtype(), t.shape(), s));
            }
        }

        void close() {
            held.forEach(ModelMemory.Allocation::close);
            model.close();
        }

        void record(long nanos, long now) {
            if (runs++ == 0) {
                first = nanos;
            }
            if (nanos < best * (1 - IMPROVEMENT)) {
                bestAtNanos = now;
                bestAtRun = runs;
            }
            best = Math.min(best, nanos);
        }

        boolean settled(long now) {
            if (maxRuns > 0) {
                return runs >= maxRuns;
            }
            return runs >= MIN_RUNS && now - bestAtNanos >= PATIENCE_NANOS && runs - bestAtRun >= PATIENCE_RUNS;
        }

        ModelRun summary(long start) {
            return new ModelRun(name, runs, Duration.ofNanos(first), Duration.ofNanos(best == Long.MAX_VALUE ? 0 : best),
                    settledAt == 0 ? Duration.ZERO : Duration.ofNanos(settledAt - start));
        }
    }

    /** What the warm-up thread has done so far; only that thread writes it. */
    private final class Tally {
        final List<Subject> subjects = new ArrayList<>();
        final List<String> failed = new ArrayList<>();
        long runs;
        long waited;
        State end = State.DONE;

        Report report(State state) {
            return new Report(state, subjects.stream().map(s -> s.summary(startNanos)).toList(), runs,
                    Duration.ofNanos(clock.getAsLong() - startNanos), Duration.ofNanos(waited), List.copyOf(failed));
        }
    }

    private void run() {
        Runnable priority = background ? BackgroundPriority::lowerCurrentThread : () -> { };
        priority.run();
        long deadline = startNanos + budget.toNanos();
        Tally tally = new Tally();
        try (CoreGroup group = new CoreGroup("vnrt-warmup", cores, priority);
                CoreGroup single = new CoreGroup("vnrt-warmup-1", 1, priority);
                HbmPool pool = new HbmPool(0, backing(tally.failed))) {
            try {
                Engine engine = new Engine();
                // on the group, and on one core: real models run on groups of either kind, and
                // constant folding at load runs kernels single-threaded; a kernel C2 compiled
                // having seen only one kind traps on its first run of the other
                // the float families first; the late (int8) ones once those have settled
                List<WarmupModels.WarmupModel> all = WarmupModels.all();
                for (boolean late : new boolean[] {false, true}) {
                    List<WarmupModels.WarmupModel> phase = all.stream().filter(m -> m.late() == late).toList();
                    int from = tally.subjects.size();
                    if (!loadAll(engine, pool, group, phase, "", 0, deadline, tally)
                            || cores > 1 && !loadAll(engine, pool, single, phase, " (1 core)", ONE_CORE_RUNS, deadline,
                                    tally)
                            || !runUntilSettled(tally.subjects.subList(from, tally.subjects.size()), deadline, tally)) {
                        break;
                    }
                }
            } finally {
                tally.subjects.forEach(Subject::close);
            }
        } catch (RuntimeException | Error e) {
            tally.failed.add("the warm-up itself (" + e + ")");
            tally.end = State.STOPPED;
        } finally {
            Report r = tally.report(tally.end);
            progress = r;
            finished.complete(r);
        }
    }

    /** Loads these warm-up models and runs each once (compiling its plan); false when the warm-up must end. */
    private boolean loadAll(Engine engine, HbmPool pool, CoreGroup group, List<WarmupModels.WarmupModel> models,
            String suffix, int maxRuns, long deadline, Tally tally) {
        for (WarmupModels.WarmupModel m : models) {
            if (!waitForIdle(deadline, tally)) {
                return false;
            }
            String name = m.name() + suffix;
            ModelMemory memory = new HbmModelMemory(pool, "kernel-warmup", "kernel warm-up", 0, name);
            LoadedModel loaded = null;
            try {
                loaded = engine.load(name, m.onnx(), null, memory, group);
                Subject s = new Subject(name, loaded, memory, m.dims(), clock.getAsLong(), maxRuns);
                tally.subjects.add(s);
                loaded = null;
                // the first run compiles the plan; the runs timed are the ones after it
                s.outputs = s.model.execute(s.inputs);
            } catch (ModelLoadException | RuntimeException e) {
                tally.failed.add(name + " (" + e.getMessage() + ")");
                if (loaded != null) {
                    loaded.close();
                }
            }
        }
        return true;
    }

    /**
     * Runs these models (those of them that loaded) round-robin, dropping each once its run time
     * has settled; false when the warm-up must end first.
     */
    private boolean runUntilSettled(List<Subject> subjects, long deadline, Tally tally) {
        List<Subject> active = new ArrayList<>(subjects);
        active.removeIf(s -> s.outputs == null);
        while (!active.isEmpty()) {
            for (int i = 0; i < active.size(); i++) {
                if (!waitForIdle(deadline, tally)) {
                    return false;
                }
                Subject s = active.get(i);
                long t0 = clock.getAsLong();
                try {
                    // both ways the daemon runs models: into given outputs, and handing each to a sink
                    if ((s.runs & 1) == 0) {
                        s.model.execute(s.inputs, s.outputs);
                    } else {
                        s.model.execute(s.inputs, (name, value) -> { });
                    }
                } catch (RuntimeException e) {
                    tally.failed.add(s.name + " (" + e.getMessage() + ")");
                    active.remove(i--);
                    continue;
                }
                long now = clock.getAsLong();
                s.record(now - t0, now);
                tally.runs++;
                if (s.settled(now)) {
                    s.settledAt = now;
                    active.remove(i--);
                }
            }
            progress = tally.report(State.RUNNING);
        }
        return true;
    }

    /**
     * Waits while real work runs; false (with the tally's end set) when the warm-up must end
     * instead, its budget spent or it being stopped.
     */
    private boolean waitForIdle(long deadline, Tally tally) {
        while (!stop && clock.getAsLong() < deadline) {
            if (!busy.getAsBoolean()) {
                return true;
            }
            long t0 = clock.getAsLong();
            LockSupport.parkNanos(BUSY_POLL_NANOS);
            tally.waited += clock.getAsLong() - t0;
        }
        tally.end = stop ? State.STOPPED : State.BUDGET_SPENT;
        return false;
    }

    /** The warm-up's pool, of the devices' backing kind; anonymous memory if that cannot be had. */
    private HbmBacking backing(List<String> failed) {
        try {
            return backing.create(POOL_BYTES);
        } catch (IOException | RuntimeException e) {
            failed.add("a pool backed like the devices' (" + e.getMessage() + "; used anonymous memory)");
            return HbmBacking.anonymous(POOL_BYTES);
        }
    }

    /** Stops the warm-up (within one warm-up run) and waits for it to free what it holds. */
    @Override
    public void close() {
        stop = true;
        try {
            thread.join(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
