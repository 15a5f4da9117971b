package io.vnrt.runtime.exec;

import io.vnrt.runtime.graph.Compiler;
import io.vnrt.runtime.graph.Dim;
import io.vnrt.runtime.graph.ExecutionPlan;
import io.vnrt.runtime.graph.Graph;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.ConstantStore;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.linalg.LinalgOps;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;

/**
 * A model loaded on a core group: weights placed once in device memory, a scratch block sized by
 * the largest plan so far, and one cached {@link ExecutionPlan} per input-shape signature.
 * Executions of one model are serialized (they share the scratch block); close() frees its memory.
 */
public final class LoadedModel implements AutoCloseable {
    private final String name;
    private final Graph graph;
    private final Compiler compiler;
    private final ModelMemory memory;
    private final CoreGroup group;
    private final ModelMemory.Allocation weights;
    private final long weightsBytes;
    private final PackedConstants packed;
    private ModelMemory.Allocation scratch;
    private final Map<List<TensorType>, ExecutionPlan> plans = new HashMap<>();
    private final Map<ExecutionPlan, BoundPlan> bound = new HashMap<>();
    private BoundPlan last;
    private final ReentrantLock lock = new ReentrantLock();
    private final String[] outputNames;
    private final List<String> loadWarnings;
    private boolean closed;

    LoadedModel(String name, Graph graph, Compiler compiler, ModelMemory memory, CoreGroup group,
            ModelMemory.Allocation weights, long weightsBytes, PackedConstants packed, List<String> loadWarnings) {
        this.packed = packed;
        this.loadWarnings = List.copyOf(loadWarnings);
        this.name = name;
        this.graph = graph;
        this.compiler = compiler;
        this.memory = memory;
        this.group = group;
        this.weights = weights;
        this.weightsBytes = weightsBytes;
        this.outputNames = graph.outputs().stream().map(ValueInfo::name).toArray(String[]::new);
    }

    public String name() {
        return name;
    }

    /**
     * What the load-time check found wrong only at some trial sizes of the symbolic dims (each
     * with the size): inputs of such sizes will be refused at execution. Empty for most models.
     */
    public List<String> loadWarnings() {
        return loadWarnings;
    }

    /** Inputs the caller feeds, with dtypes and dims (symbolic dims named). */
    public List<ValueInfo> inputs() {
        return graph.inputs();
    }

    public List<ValueInfo> outputs() {
        return graph.outputs();
    }

    /** Bytes of weights in device memory: the model's constants plus the kernels' pre-packed copies. */
    public long weightsBytes() {
        return weightsBytes + packed.bytes();
    }

    /** Bytes of pre-packed weight copies (GEMM panels), part of {@link #weightsBytes()}. */
    public long packedWeightBytes() {
        return packed.bytes();
    }

    /** Bytes of the scratch block (largest plan compiled so far). */
    public long scratchBytes() {
        lock.lock();
        try {
            return scratch == null ? 0 : scratch.segment().byteSize();
        } finally {
            lock.unlock();
        }
    }

    /** Number of plans compiled (one per input-shape signature seen). */
    public int planCount() {
        lock.lock();
        try {
            return plans.size();
        } finally {
            lock.unlock();
        }
    }

    /** The core group the model runs on. */
    public CoreGroup coreGroup() {
        return group;
    }

    /** Receives each graph output of a run; the value is readable only during the call. */
    @FunctionalInterface
    public interface OutputSink {
        /** Called once per graph output, in graph order. */
        void accept(String name, Tensor value);
    }

    /** Highest opset of the default ONNX domain, or -1 if the model imports none. */
    public int opset() {
        return graph.opsetOf("");
    }

    /**
     * Checks input names, dtypes, ranks and dims (fixed dims, one value per symbol) without
     * running; InputMismatchException listing every problem and what the model expects.
     */
    public void checkInputs(Map<String, Tensor> inputs) {
        validate(inputs);
    }

    /** Runs the model handing each output to {@code sink} (no copy is made for the caller). */
    public void execute(Map<String, Tensor> inputs, OutputSink sink) {
        run(inputs, null, (k, value) -> sink.accept(outputNames[k], value));
    }

    /** Runs the model and returns its outputs in new host tensors, by output name. */
    public Map<String, Tensor> execute(Map<String, Tensor> inputs) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        run(inputs, null, (k, value) -> {
            Tensor copy = Tensor.allocate(value.dtype(), value.shape());
            MemorySegment.copy(value.data(), 0, copy.data(), 0, value.byteSize());
            out.put(outputNames[k], copy);
        });
        return out;
    }

    /**
     * Runs the model writing into caller-provided output tensors (each of the exact dtype and shape
     * the model produces for these inputs): no allocation of output memory.
     */
    public void execute(Map<String, Tensor> inputs, Map<String, Tensor> outputs) {
        for (String k : outputs.keySet()) {
            if (!Arrays.asList(outputNames).contains(k)) {
                throw new InputMismatchException(List.of("unknown output '" + k + "'"), "outputs " + Arrays.toString(outputNames));
            }
        }
        run(inputs, outputs, (k, value) -> {
            Tensor dst = outputs.get(outputNames[k]);
            if (dst == null) {
                return;
            }
            if (dst.dtype() != value.dtype() || !Arrays.equals(dst.shape(), value.shape())) {
                throw new InputMismatchException(List.of("output '" + outputNames[k] + "' is " + value.type()
                        + ", the provided tensor is " + dst.type()), "");
            }
            MemorySegment.copy(value.data(), 0, dst.data(), 0, value.byteSize());
        });
    }

    /** The plan for these input types (compiling and caching it if new): for tools and tests. */
    public ExecutionPlan plan(List<TensorType> signature) {
        lock.lock();
        try {
            return bind(signature).plan();
        } finally {
            lock.unlock();
        }
    }

    private void run(Map<String, Tensor> inputs, Map<String, Tensor> provided, BoundPlan.OutputSink sink) {
        // the calling thread runs kernels too: its scratch is made here, not inside a compiled kernel
        LinalgOps.prepareThread();
        Tensor[] ordered = validate(inputs);
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("model '" + name + "' is closed");
            }
            BoundPlan b = last;
            if (b == null || !matches(b.plan().signature(), ordered)) {
                List<TensorType> sig = new ArrayList<>(ordered.length);
                for (Tensor t : ordered) {
                    sig.add(t.type());
                }
                b = bind(sig);
            }
            last = b;
            Tensor[] direct = null;
            if (provided != null) {
                // outputs whose kernel can write into the caller's tensor skip the final copy
                for (int k = 0; k < outputNames.length; k++) {
                    Tensor t = provided.get(outputNames[k]);
                    if (t != null && b.canWriteDirect(k, t)) {
                        if (direct == null) {
                            direct = new Tensor[outputNames.length];
                        }
                        direct[k] = t;
                    }
                }
            }
            b.run(ordered, direct, compiler, sink);
        } finally {
            lock.unlock();
        }
    }

    private static boolean matches(List<TensorType> sig, Tensor[] inputs) {
        for (int i = 0; i < inputs.length; i++) {
            TensorType t = sig.get(i);
            Tensor in = inputs[i];
            if (t.dtype() != in.dtype() || t.rank() != in.rank()) {
                return false;
            }
            long[] shape = t.shape();
            for (int d = 0; d < shape.length; d++) {
                if (shape[d] != in.dim(d)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Compiles (or finds) the plan and binds it to a scratch block large enough for it. */
    private BoundPlan bind(List<TensorType> sig) {
        ExecutionPlan plan = plans.get(sig);
        if (plan == null) {
            try {
                plan = compiler.compile(sig, null);
            } catch (OpException e) {
                // the load-time check passed at some binding of the symbolic dims: this one cannot run
                throw new InputMismatchException(List.of("cannot run with these input shapes: " + e.getMessage()
                        + " (" + describeBinding(sig) + ")"), "");
            }
            plans.put(List.copyOf(sig), plan);
        }
        long need = plan.scratchBytes();
        if (scratch == null || scratch.segment().byteSize() < need) {
            ModelMemory.Allocation bigger = memory.allocate(need, ModelMemory.Purpose.SCRATCH, "scratch of model '" + name + "'");
            if (scratch != null) {
                scratch.close();
            }
            scratch = bigger;
            bound.clear();
        }
        BoundPlan b = bound.get(plan);
        if (b == null) {
            b = new BoundPlan(plan, scratch.segment(), group::context, memory.capacityBytes());
            b.setOutputNames(outputNames);
            bound.put(plan, b);
        }
        return b;
    }

    /** "input 'x' is float32[1, 3, 16, 16]; H=16, W=16": the shapes and symbol values of a signature. */
    private String describeBinding(List<TensorType> sig) {
        List<String> shapes = new ArrayList<>();
        Map<String, Long> symbols = new LinkedHashMap<>();
        List<ValueInfo> declared = graph.inputs();
        for (int i = 0; i < declared.size(); i++) {
            ValueInfo v = declared.get(i);
            shapes.add("input '" + v.name() + "' is " + sig.get(i));
            if (v.dims() != null && v.rank() == sig.get(i).rank()) {
                for (int d = 0; d < v.rank(); d++) {
                    Dim dim = v.dims().get(d);
                    if (!dim.isFixed() && !dim.symbol().isEmpty()) {
                        symbols.putIfAbsent(dim.symbol(), sig.get(i).shape()[d]);
                    }
                }
            }
        }
        String bound = symbols.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(", "));
        return String.join(", ", shapes) + (bound.isEmpty() ? "" : "; " + bound);
    }

    /** Adds a plan compiled at load (its scratch is allocated now, before any execution). */
    void preparePlan(List<TensorType> sig, ExecutionPlan plan) {
        plans.put(List.copyOf(sig), plan);
        last = bind(sig);
    }

    /** Checks names, dtypes, ranks and dims (fixed dims, and one value per symbol); returns graph input order. */
    private Tensor[] validate(Map<String, Tensor> inputs) {
        List<ValueInfo> declared = graph.inputs();
        List<String> problems = new ArrayList<>();
        for (String k : inputs.keySet()) {
            if (declared.stream().noneMatch(v -> v.name().equals(k))) {
                problems.add("unknown input '" + k + "'");
            }
        }
        Tensor[] ordered = new Tensor[declared.size()];
        Map<String, Long> symbols = new HashMap<>();
        Map<String, String> symbolSource = new HashMap<>();
        for (int i = 0; i < declared.size(); i++) {
            ValueInfo v = declared.get(i);
            Tensor t = inputs.get(v.name());
            if (t == null) {
                problems.add("missing input '" + v.name() + "' (" + v.typeString() + ")");
                continue;
            }
            ordered[i] = t;
            if (v.dtype() != null && v.dtype() != t.dtype()) {
                problems.add("input '" + v.name() + "' must be " + v.dtype().displayName() + ", got " + t.dtype().displayName());
                continue;
            }
            if (v.dims() == null) {
                continue;
            }
            if (v.rank() != t.rank()) {
                problems.add("input '" + v.name() + "' must have rank " + v.rank() + " (" + v.typeString() + "), got shape "
                        + Arrays.toString(t.shape()));
                continue;
            }
            for (int d = 0; d < t.rank(); d++) {
                Dim dim = v.dims().get(d);
                long got = t.dim(d);
                if (dim.isFixed() && dim.value() != got) {
                    problems.add("input '" + v.name() + "' dimension " + d + " must be " + dim.value() + " (" + v.typeString()
                            + "), got shape " + Arrays.toString(t.shape()));
                } else if (!dim.isFixed() && !dim.symbol().isEmpty()) {
                    Long prev = symbols.putIfAbsent(dim.symbol(), got);
                    if (prev == null) {
                        symbolSource.put(dim.symbol(), v.name());
                    } else if (prev != got) {
                        problems.add("input '" + v.name() + "' dimension " + d + " ('" + dim.symbol() + "') is " + got
                                + " but input '" + symbolSource.get(dim.symbol()) + "' binds '" + dim.symbol() + "' to " + prev);
                    }
                }
            }
        }
        if (!problems.isEmpty()) {
            String expected = declared.stream().map(ValueInfo::toString).collect(Collectors.joining(", "));
            throw new InputMismatchException(problems, expected);
        }
        return ordered;
    }

    /** Frees the weights and scratch blocks. Further executions fail. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            bound.clear();
            plans.clear();
            last = null;
            if (scratch != null) {
                scratch.close();
                scratch = null;
            }
            packed.close();
            if (weights != null) {
                weights.close();
            }
        } finally {
            lock.unlock();
        }
    }
}
