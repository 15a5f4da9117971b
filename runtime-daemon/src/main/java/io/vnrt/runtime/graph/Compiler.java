package io.vnrt.runtime.graph;

import io.vnrt.runtime.DeviceMemoryExhaustedException;
import io.vnrt.runtime.kernels.ConstantStore;
import io.vnrt.runtime.kernels.DynamicOutputKernel;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.OpFactory;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Compiles a validated, sorted {@link Graph} into {@link ExecutionPlan}s: creates each node's
 * kernel from the known input types and constants, folds nodes whose read inputs are all constant,
 * defers nodes that need a value known only at execution time (and everything depending on them)
 * to a dynamic tail, and lays out intermediates and workspaces in one scratch block by liveness.
 */
public final class Compiler {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Compiler.class);
    /** Operators with no deterministic value: never folded. */
    private static final Set<String> NON_DETERMINISTIC =
            Set.of("RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli", "Multinomial");

    /** Host memory any model may fold into, whatever its size: shape arithmetic and small tables. */
    static final long FOLD_ALLOWANCE_BYTES = 16L << 20;
    /** Beyond the allowance, folded values may total this many times the bytes of the model's own constants. */
    static final int FOLD_AMPLIFICATION = 8;

    private final Graph graph;
    private final OpRegistry registry;
    /**
     * Host memory one folding pass (the load's, or one plan's compile) may take: the allowance plus
     * {@link #FOLD_AMPLIFICATION} times the model's constants. A node whose values would not fit stays in the plan,
     * where its output is device memory the allocator and the quotas account: a tiny model cannot make the daemon
     * allocate gigabytes of host memory at load (ConstantOfShape of a huge constant shape).
     */
    private final long foldBudgetBytes;
    private final int parallelism;
    /** Where kernels keep packed copies of constants; null (private GC-managed copies) until set. */
    private volatile ConstantStore constantStore;
    private final Map<String, Integer> useCount = new HashMap<>();
    private final Set<String> graphOutputs = new HashSet<>();
    /** {@link #declaredOutputs()}: the graph outputs are fixed once the compiler is made. */
    private volatile Map<String, ValueInfo> declaredOutputs;

    /** Per node, the inputs whose kernels read only a packed copy from the constant store. */
    private final Map<Node, BitSet> packedUses = new IdentityHashMap<>();

    private void notePackedUse(Node node, int input) {
        synchronized (packedUses) {
            packedUses.computeIfAbsent(node, n -> new BitSet()).set(input);
        }
    }

    /**
     * Constants that every use reads through a packed copy in the constant store (weights of
     * Gemm and MatMul, once a compile has made their panels): the original need not be placed.
     * Graph outputs never qualify.
     */
    public Set<String> packedOnlyConstants() {
        Map<String, Integer> packed = new HashMap<>();
        synchronized (packedUses) {
            packedUses.forEach((node, inputs) -> inputs.stream()
                    .forEach(i -> packed.merge(node.inputs().get(i), 1, Integer::sum)));
        }
        Set<String> result = new HashSet<>();
        packed.forEach((name, uses) -> {
            if (graph.constants().containsKey(name) && !graphOutputs.contains(name) && uses.equals(useCount.get(name))) {
                result.add(name);
            }
        });
        return result;
    }

    /** Subgraph plans by (subgraph, signature, identities of the outer constants bound into it). */
    private final Map<List<Object>, SubgraphPlan> subgraphPlans = new HashMap<>();

    /** A value compared by identity (a constant bound into a subgraph plan). */
    record Same(Object value) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Same s && s.value == value;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(value);
        }
    }

    /** A compiler for a subgraph's view (its inputs and the constants bound into it), sharing this one's registry and store. */
    Compiler child(Graph view) {
        Compiler c = new Compiler(view, registry, parallelism);
        c.constantStore = constantStore;
        return c;
    }

    /** The cached plan of a subgraph for this key, or the one {@code compile} makes (then cached). */
    SubgraphPlan subgraphPlan(List<Object> key, Supplier<SubgraphPlan> compile) {
        synchronized (subgraphPlans) {
            SubgraphPlan p = subgraphPlans.get(key);
            if (p != null) {
                return p;
            }
        }
        // compiled outside the lock: a subgraph's own control-flow nodes compile theirs meanwhile
        SubgraphPlan p = compile.get();
        synchronized (subgraphPlans) {
            SubgraphPlan prev = subgraphPlans.putIfAbsent(key, p);
            return prev != null ? prev : p;
        }
    }

    /**
     * Drops the cached subgraph plans: after the loader has moved the constants to device memory,
     * plans bound to the host copies would keep those alive and are never used again.
     */
    public void forgetSubgraphPlans() {
        synchronized (subgraphPlans) {
            subgraphPlans.clear();
        }
    }

    /** Makes kernels compiled from now on keep their packed constants in {@code store}. */
    public void useConstantStore(ConstantStore store) {
        this.constantStore = store;
    }

    public Compiler(Graph graph, OpRegistry registry, int parallelism) {
        this.graph = graph;
        this.registry = registry;
        this.parallelism = parallelism;
        long constantBytes = 0;
        for (Tensor t : graph.constants().values()) {
            constantBytes += t.byteSize();
        }
        this.foldBudgetBytes = FOLD_ALLOWANCE_BYTES + FOLD_AMPLIFICATION * constantBytes;
        refreshUses();
    }

    /** Takes {@code bytes} of a folding pass's budget; false (nothing taken) when they do not fit. */
    private static boolean takeFoldBytes(AtomicLong budget, long bytes) {
        for (;;) {
            long left = budget.get();
            if (bytes > left) {
                return false;
            }
            if (budget.compareAndSet(left, left - bytes)) {
                return true;
            }
        }
    }

    /** Outputs plus workspace of one kernel run; Long.MAX_VALUE when that does not even fit a long. */
    private static long valueBytes(Kernel kernel, TensorType[] outTypes) {
        try {
            long bytes = kernel.workspaceBytes();
            for (TensorType t : outTypes) {
                if (t != null) {
                    bytes = Math.addExact(bytes, t.byteSize());
                }
            }
            return bytes;
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    private void refreshUses() {
        useCount.clear();
        graphOutputs.clear();
        declaredOutputs = null;
        for (Node n : graph.nodes()) {
            for (String in : n.inputs()) {
                if (!in.isEmpty()) {
                    useCount.merge(in, 1, Integer::sum);
                }
            }
        }
        graph.outputs().forEach(o -> graphOutputs.add(o.name()));
    }

    private boolean[] outputsUsed(Node n) {
        boolean[] used = new boolean[n.outputs().size()];
        for (int o = 0; o < used.length; o++) {
            String name = n.outputs().get(o);
            used[o] = !name.isEmpty() && (useCount.containsKey(name) || graphOutputs.contains(name));
        }
        return used;
    }

    /**
     * Folds every node whose inputs are all constants (independent of input shapes) into new
     * constants and drops constants nobody uses, so only the values the plans read are placed in
     * device memory. Nodes that fail to compile are left for the plan compiler to report.
     */
    public void foldConstants() {
        AtomicLong budget = new AtomicLong(foldBudgetBytes);
        List<Node> kept = new ArrayList<>();
        Map<String, Tensor> constants = graph.constants();
        for (Node n : graph.nodes()) {
            boolean allConst = !NON_DETERMINISTIC.contains(n.opType());
            for (String in : n.inputs()) {
                allConst &= in.isEmpty() || constants.containsKey(in);
            }
            OpFactory f = registry.find(n.domain(), n.opType());
            if (allConst && f != null) {
                try {
                    Tensor[] in = new Tensor[n.inputs().size()];
                    for (int i = 0; i < in.length; i++) {
                        in[i] = n.inputs().get(i).isEmpty() ? null : constants.get(n.inputs().get(i));
                    }
                    // a value too large to fold fails here and stays in the graph: the plan computes it in HBM
                    Tensor[] out = fold(n, in, budget);
                    for (int o = 0; o < n.outputs().size(); o++) {
                        if (out[o] != null && !n.outputs().get(o).isEmpty()) {
                            constants.put(n.outputs().get(o), out[o]);
                        }
                    }
                    continue;
                } catch (RuntimeException e) {
                    // left in the graph: compiling the plan reports the problem with its context
                }
            }
            kept.add(n);
        }
        graph.setNodes(kept);
        refreshUses();
        constants.keySet().removeIf(name -> !useCount.containsKey(name) && !graphOutputs.contains(name));
    }

    /**
     * Folds one node whose inputs are all known, its values (and workspace) drawn from {@code budget}: a node whose
     * values would pass it fails here (and stays in the graph), before the allocation.
     */
    private Tensor[] fold(Node node, Tensor[] inputs, AtomicLong budget) {
        return runNode(node, inputs, budgeted(node, budget), ExecContext::inline, false);
    }

    /** A value that constant folding will not hold in host memory. */
    private static final class FoldTooLarge extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FoldTooLarge(String message) {
            super(message, null, false, false);
        }
    }

    /** Host memory for folded values, refusing (FoldTooLarge, before allocating) what would pass {@code budget}. */
    private static SegmentAllocator budgeted(Node node, AtomicLong budget) {
        Arena arena = Arena.ofAuto();
        return (bytes, alignment) -> {
            if (!takeFoldBytes(budget, bytes)) {
                throw new FoldTooLarge(node.label() + ": " + bytes + " bytes of folded values would pass the "
                        + "folding budget; computed by the plan instead");
            }
            return arena.allocate(bytes, alignment);
        };
    }

    /**
     * Creates a kernel for {@code node} with every input value known and runs it, allocating
     * outputs and workspace from {@code memory}: the dynamic tail uses this.
     */
    public Tensor[] runNode(Node node, Tensor[] inputs, SegmentAllocator memory, Function<MemorySegment, ExecContext> contexts) {
        return runNode(node, inputs, memory, contexts, true);
    }

    /**
     * Like {@link #runNode(Node, Tensor[], SegmentAllocator, Function)}; {@code valuesVary} says the
     * inputs are one execution's values (the dynamic tail), so subgraph plans must not be
     * specialised to them, unlike the model's constants at load.
     */
    private Tensor[] runNode(Node node, Tensor[] inputs, SegmentAllocator memory, Function<MemorySegment, ExecContext> contexts,
            boolean valuesVary) {
        TensorType[] types = new TensorType[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            types[i] = inputs[i] == null ? null : inputs[i].type();
        }
        boolean[] used = outputsUsed(node);
        Kernel k = create(node, types, inputs, used, valuesVary);
        if (k instanceof DynamicOutputKernel dk) {
            return dk.run(inputs, memory, contexts.apply(MemorySegment.NULL));
        }
        TensorType[] outTypes = checkedOutputs(node, k, used);
        // a kernel may declare more outputs than the node names (e.g. an optional mask): give them buffers too
        Tensor[] out = new Tensor[Math.max(used.length, outTypes.length)];
        for (int o = 0; o < out.length; o++) {
            if (o < outTypes.length && outTypes[o] != null) {
                out[o] = allocate(memory, outTypes[o]);
            }
        }
        long ws = k.workspaceBytes();
        MemorySegment workspace = ws > 0 ? memory.allocate(ws, 64) : MemorySegment.NULL;
        k.run(inputs, out, contexts.apply(workspace));
        return out;
    }

    private static Tensor allocate(SegmentAllocator memory, TensorType t) {
        long bytes = t.byteSize();
        MemorySegment seg = memory.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes);
        return new Tensor(t.dtype(), t.shape(), seg);
    }

    private Kernel create(Node node, TensorType[] types, Tensor[] constants, boolean[] used, boolean valuesVary) {
        OpFactory f = registry.find(node.domain(), node.opType());
        if (f == null) {
            throw new OpException(node.label() + ": unsupported operator");
        }
        return f.create(new CompileContext(node, graph.opsetOf(node.domain()), types, constants, used, parallelism,
                constantStore, graph.constants(), this::notePackedUse, this, valuesVary));
    }

    private static TensorType[] checkedOutputs(Node node, Kernel k, boolean[] used) {
        TensorType[] outTypes = k.outputTypes();
        for (int o = 0; o < used.length; o++) {
            if (used[o] && (outTypes == null || o >= outTypes.length || outTypes[o] == null)) {
                throw new OpException(node.label() + ": the kernel produces no output " + o + " ('" + node.outputs().get(o) + "')");
            }
        }
        return outTypes;
    }

    /**
     * Compiles a plan for the given input types (graph input order). With {@code problems} null the
     * first problem throws an OpException; otherwise every problem is appended and null returned if
     * there were any.
     */
    public ExecutionPlan compile(List<TensorType> inputTypes, List<LoadProblem> problems) {
        return compile(inputTypes, problems, true).plan();
    }

    /**
     * Creates every kernel of the plan for these input types as {@link #compile} does (so kernels make their
     * packed copies of constants, and problems are found), without laying the plan out: what the load needs to
     * learn which constants only packed copies are read from. False when there were problems (appended to
     * {@code problems}, which must not be null).
     */
    public boolean createKernels(List<TensorType> inputTypes, List<LoadProblem> problems) {
        return compile(inputTypes, problems, false).ok();
    }

    /** What a compile made: the plan (null when not laid out or on problems), and whether there were no problems. */
    private record Compiled(ExecutionPlan plan, boolean ok) {
        static final Compiled FAILED = new Compiled(null, false);
    }

    private Compiled compile(List<TensorType> inputTypes, List<LoadProblem> problems, boolean layOut) {
        AtomicLong foldBudget = new AtomicLong(foldBudgetBytes);
        Builder b = new Builder();
        List<ValueInfo> inputs = graph.inputs();
        for (int i = 0; i < inputs.size(); i++) {
            int s = b.add(inputs.get(i).name(), inputTypes.get(i), ExecutionPlan.SlotKind.INPUT);
            b.inputIndex.set(s, i);
        }
        Set<String> failed = new HashSet<>();
        Set<String> dynamicValues = new HashSet<>();
        List<Node> dynamicNodes = new ArrayList<>();
        List<Pending> pending = new ArrayList<>();
        int problemsBefore = problems == null ? 0 : problems.size();
        for (Node node : graph.nodes()) {
            int opset = graph.opsetOf(node.domain());
            int n = node.inputs().size();
            boolean skip = false;
            boolean dynamic = false;
            for (String in : node.inputs()) {
                skip |= failed.contains(in);
                dynamic |= dynamicValues.contains(in);
            }
            if (skip) {
                failed.addAll(node.outputs());
                continue;
            }
            if (dynamic) {
                dynamicNodes.add(node);
                dynamicValues.addAll(node.outputs());
                continue;
            }
            if (problems != null && (registry.find(node.domain(), node.opType()) == null || !b.allDefined(node))) {
                // already reported by the validator; keep checking the nodes that do not depend on it
                failed.addAll(node.outputs());
                continue;
            }
            TensorType[] types = new TensorType[n];
            Tensor[] consts = new Tensor[n];
            int[] inSlots = new int[n];
            for (int i = 0; i < n; i++) {
                String name = node.inputs().get(i);
                inSlots[i] = name.isEmpty() ? -1 : b.slot(name);
                if (inSlots[i] >= 0) {
                    types[i] = b.types.get(inSlots[i]);
                    consts[i] = b.constants.get(inSlots[i]);
                }
            }
            boolean[] used = outputsUsed(node);
            Kernel kernel;
            TensorType[] outTypes;
            try {
                kernel = create(node, types, consts, used, false);
                if (kernel instanceof DynamicOutputKernel dk) {
                    if (!allConstant(node, consts)) {
                        dynamicNodes.add(node);
                        dynamicValues.addAll(node.outputs());
                        continue;
                    }
                    Tensor[] out;
                    try {
                        out = dk.run(consts, budgeted(node, foldBudget), ExecContext.inline(MemorySegment.NULL));
                    } catch (FoldTooLarge tooLarge) {
                        // its values would not fit the folding budget: computed at execution, within the device's
                        dynamicNodes.add(node);
                        dynamicValues.addAll(node.outputs());
                        continue;
                    }
                    for (int o = 0; o < used.length; o++) {
                        if (used[o]) {
                            b.addConstant(node.outputs().get(o), out[o]);
                        }
                    }
                    continue;
                }
                outTypes = checkedOutputs(node, kernel, used);
            } catch (CompileContext.Deferred d) {
                dynamicNodes.add(node);
                dynamicValues.addAll(node.outputs());
                continue;
            } catch (DeviceMemoryExhaustedException e) {
                throw e;
            } catch (RuntimeException e) {
                report(problems, node, opset, e);
                failed.addAll(node.outputs());
                continue;
            }
            if (problems != null) {
                checkDeclared(node, opset, outTypes, used, problems);
            }
            boolean fold = !NON_DETERMINISTIC.contains(node.opType());
            for (int i = 0; i < n; i++) {
                if (inSlots[i] >= 0 && kernel.readsInput(i) && consts[i] == null) {
                    fold = false;
                }
            }
            if (fold && !takeFoldBytes(foldBudget, valueBytes(kernel, outTypes))) {
                fold = false; // too large to hold in host memory: computed by the plan, in device memory
            }
            if (fold) {
                try {
                    Tensor[] out = runFolded(kernel, consts, outTypes, used);
                    for (int o = 0; o < used.length; o++) {
                        if (used[o]) {
                            b.addConstant(node.outputs().get(o), out[o]);
                        }
                    }
                    continue;
                } catch (RuntimeException e) {
                    report(problems, node, opset, e);
                    failed.addAll(node.outputs());
                    continue;
                }
            }
            int[] outSlots = new int[Math.max(used.length, outTypes.length)];
            for (int o = 0; o < outSlots.length; o++) {
                boolean produced = o < outTypes.length && outTypes[o] != null;
                boolean named = o < used.length && !node.outputs().get(o).isEmpty();
                // unused outputs still get a buffer: the kernel writes every output it declares
                outSlots[o] = produced ? b.add(named ? node.outputs().get(o) : node.name() + ":" + o,
                        outTypes[o], ExecutionPlan.SlotKind.SCRATCH) : -1;
            }
            pending.add(new Pending(node, kernel, inSlots, outSlots, Arrays.copyOf(used, outSlots.length)));
        }
        if (problems != null && (problems.size() > problemsBefore || !failed.isEmpty())) {
            return Compiled.FAILED;
        }
        int[] outputSlots = new int[graph.outputs().size()];
        for (int i = 0; i < outputSlots.length; i++) {
            String name = graph.outputs().get(i).name();
            try {
                outputSlots[i] = dynamicValues.contains(name) ? -1 : b.slot(name);
            } catch (OpException e) {
                if (problems == null) {
                    throw e;
                }
                // a graph output no node produces (found here when other problems were reported first)
                problems.add(LoadProblem.graph("graph output '" + name + "' is not produced by any node, input or "
                        + "initializer"));
                return Compiled.FAILED;
            }
        }
        if (!layOut) {
            return new Compiled(null, true);
        }
        Set<Integer> liveToEnd = new HashSet<>();
        for (int s : outputSlots) {
            if (s >= 0) {
                liveToEnd.add(s);
            }
        }
        for (Node dn : dynamicNodes) {
            for (String in : dn.inputs()) {
                if (!in.isEmpty() && !dynamicValues.contains(in)) {
                    liveToEnd.add(b.slot(in));
                }
            }
        }
        return new Compiled(b.finish(inputTypes, pending, outputSlots, liveToEnd, dynamicNodes), true);
    }

    private static boolean allConstant(Node node, Tensor[] consts) {
        for (int i = 0; i < consts.length; i++) {
            if (!node.inputs().get(i).isEmpty() && consts[i] == null) {
                return false;
            }
        }
        return true;
    }

    private static void report(List<LoadProblem> problems, Node node, int opset, RuntimeException e) {
        if (problems == null) {
            throw e instanceof OpException oe ? oe : new IllegalStateException(node.label() + " failed to compile", e);
        }
        // an exception other than OpException is a bug in a kernel's checks: its Java text is for the log only
        if (!(e instanceof OpException)) {
            log.warn("{}: the compiler failed on this node", node.label(), e);
        }
        String msg = e instanceof OpException ? e.getMessage()
                : "the daemon could not check this node (a bug, logged); its attributes or input shapes are likely "
                        + "out of range";
        String prefix = node.opType() + " '" + node.name() + "' (opset " + opset + "): ";
        if (msg != null && msg.startsWith(prefix)) {
            msg = msg.substring(prefix.length());
        } else if (msg != null && msg.startsWith(node.label() + ": ")) {
            msg = msg.substring(node.label().length() + 2);
        }
        problems.add(LoadProblem.of(node, opset, msg));
    }

    /** The graph outputs by name (the last of the same name), made on first use. */
    private Map<String, ValueInfo> declaredOutputs() {
        Map<String, ValueInfo> d = declaredOutputs;
        if (d == null) {
            d = new HashMap<>();
            for (ValueInfo out : graph.outputs()) {
                d.put(out.name(), out);
            }
            declaredOutputs = d;
        }
        return d;
    }

    /** Declared types (value_info, graph outputs) that contradict what the kernels infer. */
    private void checkDeclared(Node node, int opset, TensorType[] outTypes, boolean[] used, List<LoadProblem> problems) {
        for (int o = 0; o < used.length; o++) {
            if (!used[o]) {
                continue;
            }
            String name = node.outputs().get(o);
            ValueInfo declared = graphOutputs.contains(name) ? declaredOutputs().get(name) : graph.valueInfos().get(name);
            if (declared == null) {
                continue;
            }
            String why = contradiction(declared, outTypes[o]);
            if (why != null) {
                problems.add(LoadProblem.of(node, opset, "output '" + name + "' is declared " + declared.typeString()
                        + " but computes to " + outTypes[o] + " (" + why + ")"));
            }
        }
    }

    private static String contradiction(ValueInfo declared, TensorType actual) {
        if (declared.dtype() != null && declared.dtype() != actual.dtype()) {
            return "dtype differs";
        }
        if (declared.dims() == null) {
            return null;
        }
        if (declared.rank() != actual.rank()) {
            return "rank differs";
        }
        for (int d = 0; d < actual.rank(); d++) {
            Dim dim = declared.dims().get(d);
            if (dim.isFixed() && dim.value() != actual.shape()[d]) {
                return "dimension " + d + " differs";
            }
        }
        return null;
    }

    private static Tensor[] runFolded(Kernel kernel, Tensor[] inputs, TensorType[] outTypes, boolean[] used) {
        Arena arena = Arena.ofAuto();
        Tensor[] out = new Tensor[Math.max(used.length, outTypes.length)];
        for (int o = 0; o < out.length; o++) {
            if (o < outTypes.length && outTypes[o] != null) {
                out[o] = allocate(arena, outTypes[o]);
            }
        }
        long ws = kernel.workspaceBytes();
        kernel.run(inputs, out, ExecContext.inline(ws > 0 ? arena.allocate(ws, 64) : MemorySegment.NULL));
        return out;
    }

    private record Pending(Node node, Kernel kernel, int[] inputs, int[] outputs, boolean[] used) {}

    /** Growing slot tables. */
    private final class Builder {
        final List<String> names = new ArrayList<>();
        final List<TensorType> types = new ArrayList<>();
        final List<ExecutionPlan.SlotKind> kinds = new ArrayList<>();
        final List<Tensor> constants = new ArrayList<>();
        final List<Integer> inputIndex = new ArrayList<>();
        final Map<String, Integer> byName = new HashMap<>();

        int add(String name, TensorType type, ExecutionPlan.SlotKind kind) {
            int s = names.size();
            names.add(name);
            types.add(type);
            kinds.add(kind);
            constants.add(null);
            inputIndex.add(-1);
            byName.put(name, s);
            return s;
        }

        int addConstant(String name, Tensor value) {
            int s = add(name, value.type(), ExecutionPlan.SlotKind.CONSTANT);
            constants.set(s, value);
            return s;
        }

        boolean allDefined(Node node) {
            for (String in : node.inputs()) {
                if (!in.isEmpty() && !byName.containsKey(in) && !graph.constants().containsKey(in)) {
                    return false;
                }
            }
            return true;
        }

        /** The slot of a value defined so far; graph constants get a slot on first use. */
        int slot(String name) {
            Integer s = byName.get(name);
            if (s != null) {
                return s;
            }
            Tensor c = graph.constants().get(name);
            if (c == null) {
                throw new OpException("value '" + name + "' is used before it is defined");
            }
            return addConstant(name, c);
        }

        ExecutionPlan finish(List<TensorType> signature, List<Pending> pending, int[] outputSlots, Set<Integer> liveToEnd,
                List<Node> dynamicNodes) {
            int slots = names.size();
            ExecutionPlan.SlotKind[] kind = kinds.toArray(new ExecutionPlan.SlotKind[0]);
            int[] root = new int[slots];
            for (int s = 0; s < slots; s++) {
                root[s] = s;
            }
            int stepCount = pending.size();
            boolean[] skip = new boolean[stepCount];
            // pure reinterpretations: the output views the input's bytes and the kernel is skipped
            for (int i = 0; i < stepCount; i++) {
                Pending p = pending.get(i);
                boolean allAlias = true;
                boolean anyUsed = false;
                for (int o = 0; o < p.outputs.length && allAlias; o++) {
                    if (p.outputs[o] < 0) {
                        continue;
                    }
                    if (!p.used[o]) {
                        allAlias = false;
                        break;
                    }
                    anyUsed = true;
                    int a = p.kernel.aliasOfInput(o);
                    allAlias = a >= 0 && a < p.inputs.length && p.inputs[a] >= 0
                            && types.get(p.inputs[a]).byteSize() == types.get(p.outputs[o]).byteSize();
                }
                if (allAlias && anyUsed) {
                    skip[i] = true;
                    for (int o = 0; o < p.outputs.length; o++) {
                        if (p.outputs[o] >= 0) {
                            int r = root[p.inputs[p.kernel.aliasOfInput(o)]];
                            root[p.outputs[o]] = r;
                            kind[p.outputs[o]] = ExecutionPlan.SlotKind.ALIAS;
                        }
                    }
                }
            }
            int[] first = new int[slots];
            int[] last = new int[slots];
            Arrays.fill(first, -1);
            Arrays.fill(last, -1);
            for (int i = 0; i < stepCount; i++) {
                Pending p = pending.get(i);
                for (int s : p.outputs) {
                    if (s >= 0) {
                        first[s] = i;
                        last[s] = Math.max(last[s], i);
                    }
                }
            }
            for (int i = 0; i < stepCount; i++) {
                for (int s : pending.get(i).inputs) {
                    if (s >= 0) {
                        last[root[s]] = Math.max(last[root[s]], i);
                    }
                }
            }
            for (int s : liveToEnd) {
                last[root[s]] = stepCount;
            }
            List<MemoryPlanner.Buffer> buffers = new ArrayList<>();
            List<Integer> bufferSlot = new ArrayList<>();
            for (int s = 0; s < slots; s++) {
                if (kind[s] == ExecutionPlan.SlotKind.SCRATCH) {
                    buffers.add(new MemoryPlanner.Buffer(types.get(s).byteSize(), first[s], Math.max(first[s], last[s])));
                    bufferSlot.add(s);
                }
            }
            for (int i = 0; i < stepCount; i++) {
                long ws = skip[i] ? 0 : pending.get(i).kernel.workspaceBytes();
                if (ws > 0) {
                    buffers.add(new MemoryPlanner.Buffer(ws, i, i));
                    bufferSlot.add(-1 - i);
                }
            }
            long[] total = new long[1];
            long[] placed = MemoryPlanner.place(buffers, total);
            long[] offsets = new long[slots];
            long[] wsOffset = new long[stepCount];
            for (int j = 0; j < placed.length; j++) {
                int s = bufferSlot.get(j);
                if (s >= 0) {
                    offsets[s] = placed[j];
                } else {
                    wsOffset[-1 - s] = placed[j];
                }
            }
            List<ExecutionPlan.Step> steps = new ArrayList<>(stepCount);
            for (int i = 0; i < stepCount; i++) {
                Pending p = pending.get(i);
                long ws = skip[i] ? 0 : p.kernel.workspaceBytes();
                steps.add(new ExecutionPlan.Step(p.node, p.kernel, p.inputs, p.outputs, skip[i], wsOffset[i], ws));
            }
            int[] inIdx = inputIndex.stream().mapToInt(Integer::intValue).toArray();
            return new ExecutionPlan(signature, names.toArray(new String[0]), types.toArray(new TensorType[0]), kind,
                    constants.toArray(new Tensor[0]), offsets, root, inIdx, steps, outputSlots, dynamicNodes, total[0], byName);
        }
    }

    /** The dtype-and-shape signature of concrete inputs, for plan caching. */
    public static List<TensorType> signatureOf(List<Tensor> inputs) {
        List<TensorType> sig = new ArrayList<>(inputs.size());
        for (Tensor t : inputs) {
            sig.add(t.type());
        }
        return sig;
    }

    /** A graph constant (initializer, Constant node or value folded at load), or null. */
    public Tensor constantValue(String name) {
        return graph.constants().get(name);
    }

    /** Removes nodes whose outputs nobody needs (after folding and fusion). */
    public void removeDeadNodes() {
        Set<String> needed = new HashSet<>(graphOutputs);
        List<Node> nodes = new ArrayList<>(graph.nodes());
        List<Node> kept = new ArrayList<>();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            boolean live = n.outputs().stream().anyMatch(needed::contains);
            if (live) {
                kept.add(n);
                n.inputs().forEach(needed::add);
            }
        }
        java.util.Collections.reverse(kept); // gathered from the end: inserting at the front would be quadratic
        graph.setNodes(kept);
        refreshUses();
        for (Iterator<String> it = graph.constants().keySet().iterator(); it.hasNext(); ) {
            String c = it.next();
            if (!needed.contains(c)) {
                it.remove();
            }
        }
    }
}
