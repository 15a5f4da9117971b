package io.vnrt.runtime.exec;

import io.vnrt.runtime.graph.Compiler;
import io.vnrt.runtime.graph.ExecutionPlan;
import io.vnrt.runtime.graph.Node;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
    private final CoreGroup group;
    private final Tensor[] slots;
    private final Tensor[][] stepIn;
    private final Tensor[][] stepOut;
    private final ExecContext[] contexts;
    private final int[] inputRootedAliases;

    BoundPlan(ExecutionPlan plan, MemorySegment scratch, CoreGroup group) {
        this.plan = plan;
        this.group = group;
        int n = plan.slotCount();
        slots = new Tensor[n];
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
        List<ExecutionPlan.Step> steps = plan.steps();
        stepIn = new Tensor[steps.size()][];
        stepOut = new Tensor[steps.size()][];
        contexts = new ExecContext[steps.size()];
        for (int i = 0; i < steps.size(); i++) {
            ExecutionPlan.Step st = steps.get(i);
            stepIn[i] = new Tensor[st.inputs().length];
            stepOut[i] = new Tensor[st.outputs().length];
            for (int o = 0; o < st.outputs().length; o++) {
                stepOut[i][o] = st.outputs()[o] < 0 ? null : slots[st.outputs()[o]];
            }
            MemorySegment ws = st.workspaceBytes() > 0 ? scratch.asSlice(st.workspaceOffset(), st.workspaceBytes()) : MemorySegment.NULL;
            contexts[i] = group.context(ws);
        }
    }

    private static Tensor view(TensorType t, MemorySegment seg) {
        return new Tensor(t.dtype(), t.shape(), seg);
    }

    ExecutionPlan plan() {
        return plan;
    }

    /** Runs the plan on {@code inputs} (graph input order) and hands each output to {@code sink}. */
    void run(Tensor[] inputs, Compiler compiler, OutputSink sink) {
        for (int s = 0; s < slots.length; s++) {
            if (plan.slotKind(s) == ExecutionPlan.SlotKind.INPUT) {
                slots[s] = inputs[plan.inputIndex(s)];
            }
        }
        for (int s : inputRootedAliases) {
            slots[s] = view(plan.slotType(s), slots[plan.aliasRoot(s)].data());
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
            st.kernel().run(in, stepOut[i], contexts[i]);
        }
        int outputs = countOutputs();
        if (plan.dynamicNodes().isEmpty()) {
            for (int k = 0; k < outputs; k++) {
                sink.accept(k, slots[plan.outputSlot(k)]);
            }
            clearInputs();
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> values = new HashMap<>();
            for (Node node : plan.dynamicNodes()) {
                Tensor[] in = new Tensor[node.inputs().size()];
                for (int k = 0; k < in.length; k++) {
                    in[k] = lookup(node.inputs().get(k), values, compiler);
                }
                Tensor[] out = compiler.runNode(node, in, arena, group::context);
                for (int o = 0; o < node.outputs().size(); o++) {
                    if (out[o] != null && !node.outputs().get(o).isEmpty()) {
                        values.put(node.outputs().get(o), out[o]);
                    }
                }
            }
            for (int k = 0; k < outputs; k++) {
                int s = plan.outputSlot(k);
                sink.accept(k, s >= 0 ? slots[s] : values.get(outputName(k)));
            }
        } finally {
            clearInputs();
        }
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
