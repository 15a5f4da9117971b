package io.vnrt.runtime.exec;

import io.vnrt.runtime.DeviceMemoryExhaustedException;
import io.vnrt.runtime.graph.Compiler;
import io.vnrt.runtime.graph.ExecutionPlan;
import io.vnrt.runtime.graph.Node;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * An execution plan bound to a scratch block and a core group: every slot's tensor view, every
 * step's argument arrays and context are built once, so a steady-state run allocates nothing but a
 * few views of the caller's inputs.
 */
final class BoundPlan {
    /** Receives each graph output once it is computed (index in graph output order). */
    interface OutputSink {
        void accept(int output, Tensor value);
    }

    private final ExecutionPlan plan;
    private final Function<MemorySegment, ExecContext> contexts;
    /** Host memory the dynamic tail of one execution may take: no more than the device could hold. */
    private final long dynamicLimitBytes;
    private final Tensor[] slots;
    private final Tensor[][] stepIn;
    private final Tensor[][] stepOut;
    private final ExecContext[] stepContexts;
    private final int[] inputRootedAliases;
    /** Per input-rooted alias slot, the input tensor its current view was made over. */
    private final Tensor[] aliasSource;

    /**
     * {@code contexts} gives each step its context over a slice of the scratch block (a core group's, say);
     * {@code dynamicLimitBytes} bounds the host memory the dynamic tail of one execution may take.
     */
    BoundPlan(ExecutionPlan plan, MemorySegment scratch, Function<MemorySegment, ExecContext> contexts,
            long dynamicLimitBytes) {
        this.plan = plan;
        this.contexts = contexts;
        this.dynamicLimitBytes = dynamicLimitBytes;
        this.stepNanos = PROFILE_EVERY > 0 ? new long[plan.steps().size()] : null;
        int n = plan.slotCount();
        slots = new Tensor[n];
        scratchViews = slots.clone();
        int rooted = 0;
        for (int s = 0; s < n; s++) {
            switch (plan.slotKind(s)) {
                case CONSTANT -> slots[s] = plan.constant(s);
                case SCRATCH -> slots[s] = view(plan.slotType(s), scratch.asSlice(plan.offset(s), plan.slotType(s).byteSize()));
                default -> { }
            }
        }
        int[] tmp = new int[n];
        for (int s = 0; s < n; s++) {
            if (plan.slotKind(s) == ExecutionPlan.SlotKind.ALIAS) {
                int r = plan.aliasRoot(s);
                if (plan.slotKind(r) == ExecutionPlan.SlotKind.INPUT) {
                    tmp[rooted++] = s;
                } else {
                    slots[s] = view(plan.slotType(s), slots[r].data());
                }
            }
        }
        inputRootedAliases = java.util.Arrays.copyOf(tmp, rooted);
        aliasSource = new Tensor[n];
        System.arraycopy(slots, 0, scratchViews, 0, n);
        // graph outputs a kernel can write straight into the caller's tensor: produced by a step
        // that runs, and not viewed by any alias (those views are bound to the scratch block)
        directStep = new int[plan.outputCount()];
        directOut = new int[directStep.length];
        java.util.Arrays.fill(directStep, -1);
        for (int k = 0; k < directStep.length; k++) {
            int slot = plan.outputSlot(k);
            if (slot < 0 || plan.slotKind(slot) != ExecutionPlan.SlotKind.SCRATCH || hasAlias(plan, slot) || isOutputTwice(plan, k)) {
                continue;
            }
            for (int i = 0; i < plan.steps().size(); i++) {
                ExecutionPlan.Step st = plan.steps().get(i);
                for (int o = 0; o < st.outputs().length; o++) {
                    if (st.outputs()[o] == slot && !st.skip()) {
                        directStep[k] = i;
                        directOut[k] = o;
                    }
                }
            }
        }
        List<ExecutionPlan.Step> steps = plan.steps();
        stepIn = new Tensor[steps.size()][];
        stepOut = new Tensor[steps.size()][];
        stepContexts = new ExecContext[steps.size()];
        for (int i = 0; i < steps.size(); i++) {
            ExecutionPlan.Step st = steps.get(i);
            stepIn[i] = new Tensor[st.inputs().length];
            stepOut[i] = new Tensor[st.outputs().length];
            for (int o = 0; o < st.outputs().length; o++) {
                stepOut[i][o] = st.outputs()[o] < 0 ? null : slots[st.outputs()[o]];
            }
            MemorySegment ws = st.workspaceBytes() > 0 ? scratch.asSlice(st.workspaceOffset(), st.workspaceBytes()) : MemorySegment.NULL;
            stepContexts[i] = contexts.apply(ws);
        }
    }

    private final Tensor[] scratchViews;
    private final int[] directStep;
    private final int[] directOut;

    private static boolean hasAlias(ExecutionPlan plan, int slot) {
        for (int s = 0; s < plan.slotCount(); s++) {
            if (plan.slotKind(s) == ExecutionPlan.SlotKind.ALIAS && plan.aliasRoot(s) == slot) {
                return true;
            }
        }
        return false;
    }

    private static boolean isOutputTwice(ExecutionPlan plan, int k) {
        int n = plan.outputCount();
        for (int j = 0; j < n; j++) {
            if (j != k && plan.outputSlot(j) == plan.outputSlot(k)) {
                return true;
            }
        }
        return false;
    }

    /**
     * True when graph output k can be written by its kernel straight into {@code target} (same type),
     * saving the copy: then {@link #run} with {@code direct[k] = target} leaves the value there.
     */
    boolean canWriteDirect(int k, Tensor target) {
        return directStep[k] >= 0 && target.dtype() == plan.slotType(plan.outputSlot(k)).dtype()
                && java.util.Arrays.equals(target.shape(), plan.slotType(plan.outputSlot(k)).shape());
    }

    private static Tensor view(TensorType t, MemorySegment seg) {
        return new Tensor(t.dtype(), t.shape(), seg);
    }

    ExecutionPlan plan() {
        return plan;
    }

    /** Runs the plan on {@code inputs} (graph input order) and hands each output to {@code sink}. */
    void run(Tensor[] inputs, Compiler compiler, OutputSink sink) {
        run(inputs, null, compiler, sink);
    }

    /**
     * Runs the plan; {@code direct} (may be null) holds, per graph output, a caller tensor that
     * {@link #canWriteDirect} accepted: that output's kernel writes into it and the sink is not
     * called for it.
     */
    /**
     * Diagnostics: with {@code -Dvnrt.profileSteps=N}, every N runs print the mean time of the
     * costliest steps ({@code -Dvnrt.profileTop}, default 12) to stderr (a constant 0 otherwise,
     * so the JIT drops the timing).
     */
    private static final int PROFILE_EVERY = Integer.getInteger("vnrt.profileSteps", 0);
    private final long[] stepNanos;
    private long profiledRuns;

    private void printProfile(List<ExecutionPlan.Step> steps) {
        Integer[] order = new Integer[steps.size()];
        long total = 0;
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
            total += stepNanos[i];
        }
        java.util.Arrays.sort(order, (x, y) -> Long.compare(stepNanos[y], stepNanos[x]));
        StringBuilder sb = new StringBuilder(String.format(java.util.Locale.ROOT,
                "vnrt profile: %.1f us per run over %d runs%n", total / 1e3 / PROFILE_EVERY, PROFILE_EVERY));
        for (int q = 0; q < Math.min(Integer.getInteger("vnrt.profileTop", 12), order.length); q++) {
            ExecutionPlan.Step st = steps.get(order[q]);
            sb.append(String.format(java.util.Locale.ROOT, "  %10.1f us  %s (%s)%n",
                    stepNanos[order[q]] / 1e3 / PROFILE_EVERY, st.node().label(), st.kernel().getClass().getSimpleName()));
        }
        System.err.print(sb);
        java.util.Arrays.fill(stepNanos, 0);
    }

    void run(Tensor[] inputs, Tensor[] direct, Compiler compiler, OutputSink sink) {
        if (direct != null) {
            for (int k = 0; k < direct.length; k++) {
                if (direct[k] != null) {
                    slots[plan.outputSlot(k)] = direct[k];
                    stepOut[directStep[k]][directOut[k]] = direct[k];
                }
            }
        }
        try {
            runSteps(inputs, direct, compiler, sink);
        } finally {
            if (direct != null) {
                for (int k = 0; k < direct.length; k++) {
                    if (direct[k] != null) {
                        Tensor scratchView = scratchViews[plan.outputSlot(k)];
                        slots[plan.outputSlot(k)] = scratchView;
                        stepOut[directStep[k]][directOut[k]] = scratchView;
                    }
                }
            }
        }
    }

    private void runSteps(Tensor[] inputs, Tensor[] direct, Compiler compiler, OutputSink sink) {
        for (int s = 0; s < slots.length; s++) {
            if (plan.slotKind(s) == ExecutionPlan.SlotKind.INPUT) {
                slots[s] = inputs[plan.inputIndex(s)];
            }
        }
        for (int s : inputRootedAliases) {
            // a view made for the same input tensor last run still views it (a Loop body's
            // runner is given the same state tensors iteration after iteration)
            Tensor root = slots[plan.aliasRoot(s)];
            if (aliasSource[s] != root) {
                slots[s] = view(plan.slotType(s), root.data());
                aliasSource[s] = root;
            }
        }
        List<ExecutionPlan.Step> steps = plan.steps();
        for (int i = 0; i < steps.size(); i++) {
            ExecutionPlan.Step st = steps.get(i);
            if (st.skip()) {
                continue;
            }
            Tensor[] in = stepIn[i];
            int[] ins = st.inputs();
            for (int k = 0; k < ins.length; k++) {
                in[k] = ins[k] < 0 ? null : slots[ins[k]];
            }
            long started = PROFILE_EVERY > 0 ? System.nanoTime() : 0;
            try {
                st.kernel().run(in, stepOut[i], stepContexts[i]);
                if (PROFILE_EVERY > 0) {
                    stepNanos[i] += System.nanoTime() - started;
                }
            } catch (InputMismatchException | DeviceMemoryExhaustedException e) {
                throw e;
            } catch (OpException e) {
                // a kernel's own check refused these inputs' values (an index out of range, say)
                throw new InputMismatchException(List.of(st.node().label() + " cannot run on these inputs: "
                        + e.getMessage()), "");
            } catch (RuntimeException e) {
                // anything else out of a kernel is a bug in it: kept apart from the caller's faults
                throw new IllegalStateException(st.node().label() + " failed while running", e);
            }
        }
        if (PROFILE_EVERY > 0 && ++profiledRuns % PROFILE_EVERY == 0) {
            printProfile(steps);
        }
        int outputs = countOutputs();
        if (plan.dynamicNodes().isEmpty()) {
            for (int k = 0; k < outputs; k++) {
                if (direct == null || direct[k] == null) {
                    sink.accept(k, slots[plan.outputSlot(k)]);
                }
            }
            clearInputs();
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            SegmentAllocator bounded = boundedBy(arena, dynamicLimitBytes);
            Map<String, Tensor> values = new HashMap<>();
            for (Node node : plan.dynamicNodes()) {
                Tensor[] in = new Tensor[node.inputs().size()];
                for (int k = 0; k < in.length; k++) {
                    in[k] = lookup(node.inputs().get(k), values, compiler);
                }
                Tensor[] out = compiler.runNode(node, in, bounded, contexts);
                for (int o = 0; o < node.outputs().size(); o++) {
                    if (out[o] != null && !node.outputs().get(o).isEmpty()) {
                        values.put(node.outputs().get(o), out[o]);
                    }
                }
            }
            for (int k = 0; k < outputs; k++) {
                int s = plan.outputSlot(k);
                if (direct == null || direct[k] == null) {
                    sink.accept(k, s >= 0 ? slots[s] : values.get(outputName(k)));
                }
            }
        } finally {
            clearInputs();
        }
    }

    /**
     * An allocator that refuses (RESOURCE_EXHAUSTED, before allocating) once an execution's values computed at run
     * time would pass {@code limit}: their sizes come from input values (ConstantOfShape of an input), so a request
     * could otherwise ask the daemon for any amount of host memory.
     */
    private static SegmentAllocator boundedBy(Arena arena, long limit) {
        long[] taken = {0};
        return (byteSize, alignment) -> {
            if (byteSize > limit - taken[0]) {
                throw DeviceMemoryExhaustedException.host("the values this execution computes from its inputs"
                        + " (bounded by the device's HBM size; give smaller inputs)", byteSize, taken[0], limit, null);
            }
            taken[0] += byteSize;
            return arena.allocate(byteSize, alignment);
        };
    }

    private Tensor lookup(String name, Map<String, Tensor> values, Compiler compiler) {
        if (name.isEmpty()) {
            return null;
        }
        Tensor t = values.get(name);
        if (t != null) {
            return t;
        }
        Integer s = plan.slotOf(name);
        return s == null ? compiler.constantValue(name) : slots[s];
    }

    private String[] outputNames;

    void setOutputNames(String[] names) {
        outputNames = names;
    }

    private String outputName(int k) {
        return outputNames[k];
    }

    private int countOutputs() {
        return outputNames.length;
    }

    /** Drops references to the caller's tensors so they can be collected. */
    private void clearInputs() {
        for (int s = 0; s < slots.length; s++) {
            if (plan.slotKind(s) == ExecutionPlan.SlotKind.INPUT) {
                slots[s] = null;
            }
        }
    }
}
