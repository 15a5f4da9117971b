package io.vnrt.runtime.exec;

import io.vnrt.runtime.graph.ExecutionPlan;
import io.vnrt.runtime.graph.Graph;
import io.vnrt.runtime.graph.SubgraphContext;
import io.vnrt.runtime.graph.SubgraphPlan;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.DynamicOutputKernel;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * If, Loop and Scan. Their subgraphs are compiled by the model's compiler, once per input
 * signature, into plans whose scratch is part of the node's workspace in the model's scratch
 * block. When the output shapes follow from the input types (a Scan; a Loop whose carried values
 * keep their shapes and whose trip count is known or that has no scan outputs; an If whose
 * condition is known or whose branches agree) the node is an ordinary step of the plan; otherwise
 * it runs where the engine runs nodes with value-dependent shapes, as a {@link DynamicOutputKernel}.
 */
public final class ControlFlowOps {
    private ControlFlowOps() {}

    /** Adds If, Loop and Scan to the registry. */
    public static void register(OpRegistry registry) {
        registry.register("If", ControlFlowOps::ifOp);
        registry.register("Loop", ControlFlowOps::loop);
        registry.register("Scan", ControlFlowOps::scan);
    }

    private static SubgraphContext subgraphs(NodeContext node) {
        if (node instanceof SubgraphContext sc) {
            return sc;
        }
        throw node.error("control flow needs the model's compiler");
    }

    private static long align(long v) {
        return (v + 63) & -64L;
    }

    private static void copy(Tensor from, Tensor to) {
        MemorySegment.copy(from.data(), 0, to.data(), 0, from.byteSize());
    }

    private static Tensor allocate(SegmentAllocator memory, TensorType t) {
        long bytes = t.byteSize();
        return new Tensor(t.dtype(), t.shape(), memory.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes));
    }

    private static TensorType scalarCondition(NodeContext node, int input, String what) {
        TensorType t = node.inputType(input);
        if (t.dtype() != DType.BOOL || t.elementCount() != 1) {
            throw node.error(what + " must be a bool tensor of one element, got " + t);
        }
        return t;
    }

    /**
     * A control-flow kernel with fixed output types: its subgraph runners and buffers are bound to
     * the workspace it is given once, and bound again only when that workspace changes.
     */
    private abstract static class WorkspaceKernel<B> implements Kernel {
        protected TensorType[] outputs;
        protected long workspace;
        /** What was bound, and to which workspace: one reference, so the two are always seen together. */
        private volatile Binding<B> binding;

        private record Binding<B>(MemorySegment workspace, B bound) {}

        /** The runners and buffers over {@code ws}. */
        abstract B bind(MemorySegment ws);

        final B bound(ExecContext ctx) {
            MemorySegment ws = ctx.workspace();
            Binding<B> b = binding;
            if (b == null || b.workspace() != ws) {
                b = new Binding<>(ws, bind(ws));
                binding = b;
            }
            return b.bound();
        }

        @Override
        public TensorType[] outputTypes() {
            return outputs.clone();
        }

        @Override
        public long workspaceBytes() {
            return workspace;
        }
    }

    // ---- If -----------------------------------------------------------------------------------

    static Kernel ifOp(NodeContext node) {
        SubgraphContext sc = subgraphs(node);
        scalarCondition(node, 0, "cond");
        Graph then = sc.graphAttribute("then_branch");
        Graph otherwise = sc.graphAttribute("else_branch");
        Tensor cond = node.constantInput(0);
        if (cond != null) {
            // a known condition: only the branch taken is compiled (the other may not even be valid here)
            boolean c = cond.getLong(0) != 0;
            SubgraphPlan p = sc.compile(c ? then : otherwise, c ? "then_branch" : "else_branch", List.of());
            return known(p) ? new IfKernel(new SubgraphPlan[] {p, p}) : new DynamicIf(new SubgraphPlan[] {p, p});
        }
        SubgraphPlan[] branches = {sc.compile(otherwise, "else_branch", List.of()), sc.compile(then, "then_branch", List.of())};
        boolean same = known(branches[0]) && known(branches[1]);
        for (int k = 0; k < branches[0].outputNames().length; k++) {
            TensorType a = branches[1].outputType(k);
            TensorType b = branches[0].outputType(k);
            if (a != null && b != null && a.dtype() != b.dtype()) {
                throw node.error("output " + k + " is " + a.dtype().displayName() + " in then_branch but "
                        + b.dtype().displayName() + " in else_branch; they must agree");
            }
            same &= a != null && a.equals(b);
        }
        return same ? new IfKernel(branches) : new DynamicIf(branches);
    }

    private static boolean known(SubgraphPlan p) {
        for (int k = 0; k < p.outputNames().length; k++) {
            if (p.outputType(k) == null) {
                return false;
            }
        }
        return true;
    }

    /** An If whose outputs have the same types either way: the branch taken runs in the workspace. */
    static final class IfKernel extends WorkspaceKernel<SubgraphRunner[]> {
        /** [else, then]. */
        private final SubgraphPlan[] branches;

        IfKernel(SubgraphPlan[] branches) {
            this.branches = branches;
            outputs = new TensorType[branches[0].outputNames().length];
            for (int k = 0; k < outputs.length; k++) {
                outputs[k] = branches[0].outputType(k);
            }
            workspace = Math.max(branches[0].plan().scratchBytes(), branches[1].plan().scratchBytes());
        }

        @Override
        SubgraphRunner[] bind(MemorySegment ws) {
            return new SubgraphRunner[] {new SubgraphRunner(branches[0], ws.asSlice(0, branches[0].plan().scratchBytes())),
                    branches[1] == branches[0] ? null
                            : new SubgraphRunner(branches[1], ws.asSlice(0, branches[1].plan().scratchBytes()))};
        }

        @Override
        public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
            SubgraphRunner[] r = bound(ctx);
            SubgraphRunner taken = in[0].getLong(0) != 0 && r[1] != null ? r[1] : r[0];
            taken.bindOuter(in);
            Tensor[] direct = new Tensor[out.length];
            for (int k = 0; k < out.length; k++) {
                direct[k] = out[k] != null && taken.canWriteDirect(k, out[k]) ? out[k] : null;
            }
            taken.run(ctx, direct, (k, v) -> {
                if (out[k] != null) {
                    copy(v, out[k]);
                }
            });
        }
    }

    /** An If whose output shapes depend on the branch taken (or on values inside it). */
    static final class DynamicIf implements DynamicOutputKernel {
        private final SubgraphPlan[] branches;

        DynamicIf(SubgraphPlan[] branches) {
            this.branches = branches;
        }

        @Override
        public Tensor[] run(Tensor[] in, SegmentAllocator memory, ExecContext ctx) {
            SubgraphPlan p = branches[in[0].getLong(0) != 0 ? 1 : 0];
            SubgraphRunner r = new SubgraphRunner(p, memory.allocate(Math.max(1, p.plan().scratchBytes()), 64));
            r.bindOuter(in);
            Tensor[] out = new Tensor[p.outputNames().length];
            r.run(ctx, null, (k, v) -> {
                out[k] = allocate(memory, v.type());
                copy(v, out[k]);
            });
            return out;
        }
    }

    // ---- Loop ---------------------------------------------------------------------------------

    /** What a Loop node is, fixed at compile time. */
    private record LoopShape(SubgraphContext sc, Graph body, int carried, int scans, boolean hasMax, boolean hasCond,
            TensorType condType) {
        List<TensorType> formal(List<TensorType> carriedTypes) {
            List<TensorType> t = new ArrayList<>();
            t.add(new TensorType(DType.INT64, new long[0]));
            t.add(condType);
            t.addAll(carriedTypes);
            return t;
        }

        SubgraphPlan compile(List<TensorType> carriedTypes) {
            SubgraphPlan p = sc.compile(body, "body", formal(carriedTypes));
            for (int i = 0; i < carried; i++) {
                TensorType o = p.outputType(1 + i);
                if (o != null && o.dtype() != carriedTypes.get(i).dtype()) {
                    throw sc.error("the body changes the type of loop-carried value " + i + " ('"
                            + body.inputs().get(2 + i).name() + "') from " + carriedTypes.get(i).dtype().displayName()
                            + " to " + o.dtype().displayName() + " ('" + body.outputs().get(1 + i).name() + "')");
                }
            }
            TensorType c = p.outputType(0);
            if (c != null && (c.dtype() != DType.BOOL || c.elementCount() != 1)) {
                throw sc.error("the body's condition output must be a bool of one element, got " + c);
            }
            return p;
        }
    }

    static Kernel loop(NodeContext node) {
        SubgraphContext sc = subgraphs(node);
        Graph body = sc.graphAttribute("body");
        int carried = sc.explicitInputCount() - 2;
        int scans = node.outputCount() - carried;
        boolean hasMax = node.hasInput(0);
        boolean hasCond = node.hasInput(1);
        if (hasMax) {
            TensorType m = node.inputType(0);
            if (m.dtype() != DType.INT64 || m.elementCount() != 1) {
                throw node.error("M must be an int64 tensor of one element, got " + m);
            }
        }
        TensorType condType = hasCond ? scalarCondition(node, 1, "cond") : new TensorType(DType.BOOL, new long[0]);
        LoopShape shape = new LoopShape(sc, body, carried, scans, hasMax, hasCond, condType);
        List<TensorType> carriedTypes = new ArrayList<>();
        for (int i = 0; i < carried; i++) {
            carriedTypes.add(node.inputType(2 + i));
        }
        SubgraphPlan p = shape.compile(carriedTypes);
        boolean invariant = true;
        for (int i = 0; i < carried; i++) {
            invariant &= carriedTypes.get(i).equals(p.outputType(1 + i));
        }
        for (int k = 0; k < scans; k++) {
            invariant &= p.outputType(1 + carried + k) != null;
        }
        boolean condStaysTrue = condStaysTrue(p.plan()) && (!hasCond || isTrue(node.constantInput(1)));
        if (condStaysTrue && !hasMax) {
            throw node.error("the loop never ends: it has no trip count M and the body's condition stays true");
        }
        Tensor max = hasMax ? node.constantInput(0) : null;
        long trips = condStaysTrue && max != null ? Math.max(0, max.getLong(0)) : -1;
        if (invariant && (scans == 0 || trips >= 0)) {
            return new LoopKernel(shape, p, carriedTypes, trips);
        }
        return new DynamicLoop(shape);
    }

    private static boolean isTrue(Tensor t) {
        return t != null && t.getLong(0) != 0;
    }

    /** The body's condition output is the constant true, or its condition input passed through. */
    private static boolean condStaysTrue(ExecutionPlan plan) {
        int s = plan.outputSlot(0);
        if (s < 0) {
            return false;
        }
        return switch (plan.slotKind(s)) {
            case CONSTANT -> plan.constant(s).getLong(0) != 0;
            case INPUT -> plan.inputIndex(s) == 1;
            case ALIAS -> plan.slotKind(plan.aliasRoot(s)) == ExecutionPlan.SlotKind.INPUT
                    && plan.inputIndex(plan.aliasRoot(s)) == 1;
            case SCRATCH -> false;
        };
    }

    /**
     * A Loop whose carried values keep their types: the body runs in the workspace, the carried
     * values alternate between two buffers there, scan outputs (only with a known trip count) are
     * written in place. Nothing is allocated per iteration.
     */
    static final class LoopKernel extends WorkspaceKernel<LoopKernel.Bound> {
        private final LoopShape shape;
        private final SubgraphPlan body;
        private final long scratch;
        private final long[] stateOff;

        LoopKernel(LoopShape shape, SubgraphPlan body, List<TensorType> carried, long trips) {
            this.shape = shape;
            this.body = body;
            outputs = new TensorType[shape.carried + shape.scans];
            for (int i = 0; i < shape.carried; i++) {
                outputs[i] = carried.get(i);
            }
            for (int k = 0; k < shape.scans; k++) {
                TensorType e = body.outputType(1 + shape.carried + k);
                long[] s = new long[e.rank() + 1];
                s[0] = trips;
                System.arraycopy(e.shape(), 0, s, 1, e.rank());
                outputs[shape.carried + k] = new TensorType(e.dtype(), s);
            }
            scratch = align(body.plan().scratchBytes());
            long off = scratch + 128;
            stateOff = new long[2 * shape.carried];
            for (int j = 0; j < 2; j++) {
                for (int i = 0; i < shape.carried; i++) {
                    stateOff[j * shape.carried + i] = off;
                    off += align(carried.get(i).byteSize());
                }
            }
            workspace = off;
        }

        @Override
        Bound bind(MemorySegment ws) {
            return new Bound(ws);
        }

        /**
         * The runners and the buffers over one workspace, and what the sink needs per iteration.
         * One runner per state buffer, so each always sees the same input tensors.
         */
        final class Bound implements BoundPlan.OutputSink {
            final SubgraphRunner[] runners = new SubgraphRunner[2];
            final Tensor iteration;
            final Tensor condition;
            final Tensor[][] state = new Tensor[2][];
            Tensor[] out;
            Tensor[] next;
            long index;
            boolean cond;

            Bound(MemorySegment ws) {
                for (int j = 0; j < 2; j++) {
                    runners[j] = new SubgraphRunner(body, ws.asSlice(0, body.plan().scratchBytes()));
                }
                iteration = new Tensor(DType.INT64, new long[0], ws.asSlice(scratch, 8));
                condition = new Tensor(DType.BOOL, shape.condType.shape(), ws.asSlice(scratch + 64, 1));
                for (int j = 0; j < 2; j++) {
                    state[j] = new Tensor[shape.carried];
                    for (int i = 0; i < shape.carried; i++) {
                        TensorType t = outputs[i];
                        state[j][i] = new Tensor(t.dtype(), t.shape(), ws.asSlice(stateOff[j * shape.carried + i], t.byteSize()));
                    }
                }
            }

            @Override
            public void accept(int k, Tensor v) {
                if (k == 0) {
                    cond = v.getLong(0) != 0;
                } else if (k <= shape.carried) {
                    copy(v, next[k - 1]);
                } else if (out[k - 1] != null) {
                    Tensor o = out[k - 1];
                    long bytes = v.byteSize();
                    MemorySegment.copy(v.data(), 0, o.data(), index * bytes, bytes);
                }
            }
        }

        @Override
        public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
            Bound b = bound(ctx);
            long max = shape.hasMax ? in[0].getLong(0) : Long.MAX_VALUE;
            b.cond = !shape.hasCond || in[1].getLong(0) != 0;
            b.out = out;
            for (int i = 0; i < shape.carried; i++) {
                copy(in[2 + i], b.state[0][i]);
            }
            for (SubgraphRunner r : b.runners) {
                r.bindOuter(in);
            }
            int cur = 0;
            long i = 0;
            for (; i < max && b.cond; i++) {
                SubgraphRunner r = b.runners[cur];
                b.index = i;
                b.iteration.setLong(0, i);
                b.condition.setLong(0, 1);
                r.inputs[0] = b.iteration;
                r.inputs[1] = b.condition;
                System.arraycopy(b.state[cur], 0, r.inputs, 2, shape.carried);
                b.next = b.state[1 - cur];
                r.run(ctx, null, b);
                cur = 1 - cur;
            }
            for (int k = 0; k < shape.carried; k++) {
                if (out[k] != null) {
                    copy(b.state[cur][k], out[k]);
                }
            }
            b.out = null;
        }
    }

    /**
     * A Loop whose output shapes are known only by running it (a trip count that is a value with
     * scan outputs, carried values that change shape): the body is compiled for each new
     * signature of its carried values (cached), outputs are allocated from the execution's memory.
     */
    static final class DynamicLoop implements DynamicOutputKernel {
        private final LoopShape shape;

        DynamicLoop(LoopShape shape) {
            this.shape = shape;
        }

        @Override
        public Tensor[] run(Tensor[] in, SegmentAllocator memory, ExecContext ctx) {
            long max = shape.hasMax ? in[0].getLong(0) : Long.MAX_VALUE;
            boolean[] cond = {!shape.hasCond || in[1].getLong(0) != 0};
            Tensor[] cur = new Tensor[shape.carried];
            List<TensorType> types = new ArrayList<>();
            for (int i = 0; i < shape.carried; i++) {
                cur[i] = allocate(memory, in[2 + i].type());
                copy(in[2 + i], cur[i]);
                types.add(cur[i].type());
            }
            Tensor iteration = allocate(memory, new TensorType(DType.INT64, new long[0]));
            Tensor condition = allocate(memory, shape.condType);
            List<List<Tensor>> scans = new ArrayList<>();
            for (int k = 0; k < shape.scans; k++) {
                scans.add(new ArrayList<>());
            }
            SubgraphPlan first = shape.compile(types);
            SubgraphRunner runner = null;
            MemorySegment scratch = MemorySegment.NULL;
            for (long i = 0; i < max && cond[0]; i++) {
                SubgraphPlan p = shape.compile(types);
                if (runner == null || runner.plan() != p.plan()) {
                    if (scratch.byteSize() < p.plan().scratchBytes()) {
                        scratch = memory.allocate(p.plan().scratchBytes(), 64);
                    }
                    runner = new SubgraphRunner(p, scratch.asSlice(0, p.plan().scratchBytes()));
                    runner.bindOuter(in);
                }
                iteration.setLong(0, i);
                condition.setLong(0, 1);
                runner.inputs[0] = iteration;
                runner.inputs[1] = condition;
                System.arraycopy(cur, 0, runner.inputs, 2, shape.carried);
                Tensor[] next = new Tensor[shape.carried];
                long index = i;
                runner.run(ctx, null, (k, v) -> {
                    if (k == 0) {
                        cond[0] = v.getLong(0) != 0;
                        return;
                    }
                    Tensor c = allocate(memory, v.type());
                    copy(v, c);
                    if (k <= shape.carried) {
                        next[k - 1] = c;
                        return;
                    }
                    List<Tensor> s = scans.get(k - 1 - shape.carried);
                    if (!s.isEmpty() && !s.get(0).type().equals(c.type())) {
                        throw new OpException("scan output " + (k - 1 - shape.carried) + " ('" + shape.body.outputs().get(k).name()
                                + "') is " + s.get(0).type() + " in the first iteration but " + c.type() + " in iteration " + index
                                + "; a Loop's scan outputs must keep their shape");
                    }
                    s.add(c);
                });
                cur = next;
                types.clear();
                for (Tensor t : cur) {
                    types.add(t.type());
                }
            }
            Tensor[] out = new Tensor[shape.carried + shape.scans];
            System.arraycopy(cur, 0, out, 0, shape.carried);
            for (int k = 0; k < shape.scans; k++) {
                List<Tensor> s = scans.get(k);
                TensorType e = s.isEmpty() ? first.outputType(1 + shape.carried + k) : s.get(0).type();
                long[] es = e == null ? new long[0] : e.shape();
                long[] os = new long[es.length + 1];
                os[0] = s.size();
                System.arraycopy(es, 0, os, 1, es.length);
                Tensor o = allocate(memory, new TensorType(e == null ? DType.FLOAT32 : e.dtype(), os));
                long at = 0;
                for (Tensor t : s) {
                    MemorySegment.copy(t.data(), 0, o.data(), at, t.byteSize());
                    at += t.byteSize();
                }
                out[shape.carried + k] = o;
            }
            return out;
        }
    }

    // ---- Scan ---------------------------------------------------------------------------------

    static Kernel scan(NodeContext node) {
        SubgraphContext sc = subgraphs(node);
        Graph body = sc.graphAttribute("body");
        boolean batched = node.opset() < 9;
        int scanInputs = Math.toIntExact(node.attrInt("num_scan_inputs", 0));
        int first = batched ? 1 : 0;
        int states = sc.explicitInputCount() - first - scanInputs;
        int scanOutputs = node.outputCount() - states;
        long[] inAxes = new long[scanInputs];
        long[] inDirs = node.attrInts(batched ? "directions" : "scan_input_directions", new long[scanInputs]);
        long[] outAxes = new long[scanOutputs];
        long[] outDirs = new long[scanOutputs];
        if (!batched) {
            inAxes = node.attrInts("scan_input_axes", inAxes);
            outAxes = node.attrInts("scan_output_axes", outAxes);
            outDirs = node.attrInts("scan_output_directions", outDirs);
        }
        if (inAxes.length != scanInputs || inDirs.length != scanInputs || outAxes.length != scanOutputs
                || outDirs.length != scanOutputs) {
            throw node.error("scan input axes/directions need " + scanInputs + " entries and scan output axes/directions "
                    + scanOutputs);
        }
        long batch = 1;
        long steps = -1;
        List<TensorType> formal = new ArrayList<>();
        for (int i = 0; i < states; i++) {
            TensorType t = node.inputType(first + i);
            if (batched) {
                if (t.rank() == 0) {
                    throw node.error("state " + i + " needs a batch dimension, got " + t);
                }
                batch = t.shape()[0];
                t = new TensorType(t.dtype(), Arrays.copyOfRange(t.shape(), 1, t.rank()));
            }
            formal.add(t);
        }
        int[] axis = new int[scanInputs];
        for (int m = 0; m < scanInputs; m++) {
            TensorType t = node.inputType(first + states + m);
            long[] s = t.shape();
            if (batched) {
                if (t.rank() < 2) {
                    throw node.error("scan input " + m + " needs batch and sequence dimensions, got " + t);
                }
                batch = s[0];
                axis[m] = 1;
            } else {
                axis[m] = (int) (inAxes[m] < 0 ? inAxes[m] + t.rank() : inAxes[m]);
                if (axis[m] < 0 || axis[m] >= t.rank()) {
                    throw node.error("scan_input_axes[" + m + "] = " + inAxes[m] + " is outside the rank of " + t);
                }
            }
            if (steps >= 0 && s[axis[m]] != steps) {
                throw node.error("scan inputs disagree on the sequence length: " + steps + " and " + s[axis[m]]);
            }
            steps = s[axis[m]];
            long[] e = new long[t.rank() - (batched ? 2 : 1)];
            for (int d = 0, j = 0; d < t.rank(); d++) {
                if (d != axis[m] && !(batched && d == 0)) {
                    e[j++] = s[d];
                }
            }
            formal.add(new TensorType(t.dtype(), e));
        }
        if (batched && node.hasInput(0)) {
            TensorType l = node.inputType(0);
            if (l.dtype() != DType.INT64 || l.rank() != 1 || l.shape()[0] != batch) {
                throw node.error("sequence_lens must be int64 of shape [" + batch + "], got " + l);
            }
        }
        SubgraphPlan p = sc.compile(body, "body", formal);
        TensorType[] outputs = new TensorType[states + scanOutputs];
        int[] outAxis = new int[scanOutputs];
        for (int i = 0; i < states; i++) {
            TensorType o = p.outputType(i);
            if (o == null || !o.equals(formal.get(i))) {
                throw node.error("the body turns state " + i + " ('" + body.inputs().get(i).name() + "') from "
                        + formal.get(i) + " into " + (o == null ? "a shape known only at run time" : o)
                        + "; a Scan's states keep their type and shape");
            }
            TensorType in = node.inputType(first + i);
            outputs[i] = in;
        }
        for (int k = 0; k < scanOutputs; k++) {
            TensorType e = p.outputType(states + k);
            if (e == null) {
                throw node.error("scan output " + k + " has a shape known only at run time; a Scan's outputs must keep their shape");
            }
            long[] es = e.shape();
            long[] os;
            if (batched) {
                os = new long[es.length + 2];
                os[0] = batch;
                os[1] = steps;
                System.arraycopy(es, 0, os, 2, es.length);
                outAxis[k] = 1;
            } else {
                int a = (int) (outAxes[k] < 0 ? outAxes[k] + es.length + 1 : outAxes[k]);
                if (a < 0 || a > es.length) {
                    throw node.error("scan_output_axes[" + k + "] = " + outAxes[k] + " is outside the rank of " + e + " plus one");
                }
                outAxis[k] = a;
                os = new long[es.length + 1];
                for (int d = 0, j = 0; d < os.length; d++) {
                    os[d] = d == a ? steps : es[j++];
                }
            }
            outputs[states + k] = new TensorType(e.dtype(), os);
        }
        return new ScanKernel(p, batched, first, states, scanInputs, scanOutputs, formal, axis, inDirs, outAxis, outDirs,
                outputs, batch, steps);
    }

    /** A Scan: the body runs once per element of the sequence (per batch entry at opset 8) in the workspace. */
    static final class ScanKernel extends WorkspaceKernel<ScanKernel.Bound> {
        private final SubgraphPlan body;
        private final boolean batched;
        private final int first;
        private final int states;
        private final int scanInputs;
        private final int scanOutputs;
        private final List<TensorType> formal;
        private final int[] inAxis;
        private final long[] inDirs;
        private final int[] outAxis;
        private final long[] outDirs;
        private final long batch;
        private final long steps;
        private final long[] offsets;

        ScanKernel(SubgraphPlan body, boolean batched, int first, int states, int scanInputs, int scanOutputs,
                List<TensorType> formal, int[] inAxis, long[] inDirs, int[] outAxis, long[] outDirs, TensorType[] outputs,
                long batch, long steps) {
            this.body = body;
            this.batched = batched;
            this.first = first;
            this.states = states;
            this.scanInputs = scanInputs;
            this.scanOutputs = scanOutputs;
            this.formal = formal;
            this.inAxis = inAxis;
            this.inDirs = inDirs;
            this.outAxis = outAxis;
            this.outDirs = outDirs;
            this.outputs = outputs;
            this.batch = batch;
            this.steps = steps;
            // body scratch, then two buffers per state and one per scan input element
            offsets = new long[2 * states + scanInputs];
            long off = align(body.plan().scratchBytes());
            for (int j = 0; j < 2 * states + scanInputs; j++) {
                offsets[j] = off;
                TensorType t = j < 2 * states ? formal.get(j % states) : formal.get(states + j - 2 * states);
                off += align(t.byteSize());
            }
            workspace = off;
        }

        @Override
        Bound bind(MemorySegment ws) {
            return new Bound(ws);
        }

        /** One runner per state buffer, so each always sees the same input tensors. */
        final class Bound implements BoundPlan.OutputSink {
            final SubgraphRunner[] runners = new SubgraphRunner[2];
            final Tensor[][] state = new Tensor[2][];
            final Tensor[] element;
            Tensor[] out;
            Tensor[] next;
            long b;
            long position;
            long length;

            Bound(MemorySegment ws) {
                for (int j = 0; j < 2; j++) {
                    runners[j] = new SubgraphRunner(body, ws.asSlice(0, body.plan().scratchBytes()));
                    state[j] = new Tensor[states];
                    for (int i = 0; i < states; i++) {
                        state[j][i] = view(ws, offsets[j * states + i], formal.get(i));
                    }
                }
                element = new Tensor[scanInputs];
                for (int m = 0; m < scanInputs; m++) {
                    element[m] = view(ws, offsets[2 * states + m], formal.get(states + m));
                }
            }

            @Override
            public void accept(int k, Tensor v) {
                if (k < states) {
                    copy(v, next[k]);
                    return;
                }
                int j = k - states;
                Tensor o = out[states + j];
                if (o == null) {
                    return;
                }
                long p = outDirs[j] != 0 ? length - 1 - position : position;
                long[] s = o.shape();
                slices(o.data(), s, outAxis[j], o.dtype().byteSize(), b, p, v.data(), false);
            }
        }

        private static Tensor view(MemorySegment ws, long off, TensorType t) {
            return new Tensor(t.dtype(), t.shape(), ws.asSlice(off, t.byteSize()));
        }

        /**
         * Copies between a compact element and slice {@code index} along {@code axis} of a tensor of
         * shape {@code s} (at opset 8, of batch entry {@code b}, the sequence being axis 1).
         */
        private void slices(MemorySegment whole, long[] s, int axis, long esize, long b, long index, MemorySegment element,
                boolean toElement) {
            long outer = 1;
            for (int d = batched ? 1 : 0; d < axis; d++) {
                outer *= s[d];
            }
            long inner = esize;
            for (int d = axis + 1; d < s.length; d++) {
                inner *= s[d];
            }
            long base = batched ? b * (whole.byteSize() / s[0]) : 0;
            for (long o = 0; o < outer; o++) {
                long at = base + (o * s[axis] + index) * inner;
                if (toElement) {
                    MemorySegment.copy(whole, at, element, o * inner, inner);
                } else {
                    MemorySegment.copy(element, o * inner, whole, at, inner);
                }
            }
        }

        @Override
        public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
            Bound bd = bound(ctx);
            bd.out = out;
            for (SubgraphRunner r : bd.runners) {
                r.bindOuter(in);
            }
            for (long b = 0; b < batch; b++) {
                long len = batched && in[0] != null ? in[0].getLong(b) : steps;
                if (len < 0 || len > steps) {
                    throw new IllegalArgumentException("sequence_lens[" + b + "] is " + len + ", outside [0, " + steps + "]");
                }
                for (int i = 0; i < states; i++) {
                    Tensor init = in[first + i];
                    long bytes = bd.state[0][i].byteSize();
                    MemorySegment.copy(init.data(), batched ? b * bytes : 0, bd.state[0][i].data(), 0, bytes);
                }
                int cur = 0;
                bd.b = b;
                bd.length = len;
                for (long t = 0; t < len; t++) {
                    for (int m = 0; m < scanInputs; m++) {
                        Tensor x = in[first + states + m];
                        long idx = inDirs[m] != 0 ? len - 1 - t : t;
                        slices(x.data(), x.shape(), inAxis[m], x.dtype().byteSize(), b, idx, bd.element[m].data(), true);
                    }
                    SubgraphRunner r = bd.runners[cur];
                    System.arraycopy(bd.state[cur], 0, r.inputs, 0, states);
                    System.arraycopy(bd.element, 0, r.inputs, states, scanInputs);
                    bd.next = bd.state[1 - cur];
                    bd.position = t;
                    r.run(ctx, null, bd);
                    cur = 1 - cur;
                }
                for (int i = 0; i < states; i++) {
                    if (out[i] != null) {
                        long bytes = bd.state[cur][i].byteSize();
                        MemorySegment.copy(bd.state[cur][i].data(), 0, out[i].data(), batched ? b * bytes : 0, bytes);
                    }
                }
                if (batched && len < steps) {
                    // the padding of a shorter sequence: zeros, as ONNX Runtime writes
                    for (int j = 0; j < scanOutputs; j++) {
                        Tensor o = out[states + j];
                        if (o != null) {
                            long per = o.byteSize() / batch / steps;
                            o.data().asSlice(b * steps * per + len * per, (steps - len) * per).fill((byte) 0);
                        }
                    }
                }
            }
            bd.out = null;
        }
    }
}
