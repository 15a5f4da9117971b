package io.vnrt.runtime.graph;

import io.vnrt.runtime.kernels.ConstantStore;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/** The compiler's view of one node for its kernel factory: types, constants, attributes, subgraphs. */
final class CompileContext implements SubgraphContext {
    /** Thrown by requireConstant when the value is only known at execution time. */
    static final class Deferred extends RuntimeException {
        Deferred(String message) {
            super(message, null, false, false);
        }
    }

    private final Node node;
    private final int opset;
    private final TensorType[] types;
    private final Tensor[] constants;
    private final boolean[] outputUsed;
    private final int parallelism;
    private final ConstantStore store;
    private final Map<String, Tensor> modelConstants;
    private final BiConsumer<Node, Integer> packedUse;
    private final Compiler compiler;
    private final boolean valuesVary;

    CompileContext(Node node, int opset, TensorType[] types, Tensor[] constants, boolean[] outputUsed, int parallelism,
            ConstantStore store, Map<String, Tensor> modelConstants, BiConsumer<Node, Integer> packedUse) {
        this(node, opset, types, constants, outputUsed, parallelism, store, modelConstants, packedUse, null, false);
    }

    /** {@code valuesVary}: the constants are one execution's values, not to be compiled into subgraph plans. */
    CompileContext(Node node, int opset, TensorType[] types, Tensor[] constants, boolean[] outputUsed, int parallelism,
            ConstantStore store, Map<String, Tensor> modelConstants, BiConsumer<Node, Integer> packedUse,
            Compiler compiler, boolean valuesVary) {
        this.compiler = compiler;
        this.valuesVary = valuesVary;
        this.store = store;
        this.packedUse = packedUse;
        this.modelConstants = modelConstants;
        this.node = node;
        this.opset = opset;
        this.types = types;
        this.constants = constants;
        this.outputUsed = outputUsed;
        this.parallelism = parallelism;
    }

    @Override
    public String opType() {
        return node.opType();
    }

    @Override
    public String nodeName() {
        return node.name();
    }

    @Override
    public int opset() {
        return opset;
    }

    @Override
    public int inputCount() {
        return node.inputs().size();
    }

    @Override
    public boolean hasInput(int i) {
        return i >= 0 && i < node.inputs().size() && !node.inputs().get(i).isEmpty();
    }

    @Override
    public TensorType inputType(int i) {
        if (!hasInput(i)) {
            throw error("input " + i + " is required but absent");
        }
        return types[i];
    }

    @Override
    public Tensor constantInput(int i) {
        return hasInput(i) ? constants[i] : null;
    }

    @Override
    public MemorySegment packedConstant(int input, String layout, long bytes, Consumer<MemorySegment> fill) {
        String name = hasInput(input) ? node.inputs().get(input) : "";
        // Only the model's own constants are shared across plans: a value the dynamic tail passes
        // in as "constant" changes from one execution to the next.
        if (store == null || constants[input] == null || modelConstants.get(name) != constants[input]) {
            return SubgraphContext.super.packedConstant(input, layout, bytes, fill);
        }
        MemorySegment seg = store.get(name, layout, bytes, fill);
        packedUse.accept(node, input);
        return seg;
    }

    @Override
    public Tensor requireConstant(int i) {
        if (!hasInput(i)) {
            return null;
        }
        if (constants[i] == null) {
            throw new Deferred(node.label() + " needs the value of input '" + node.inputs().get(i) + "'");
        }
        return constants[i];
    }

    @Override
    public int outputCount() {
        return node.outputs().size();
    }

    @Override
    public boolean hasOutput(int i) {
        return i >= 0 && i < outputUsed.length && outputUsed[i];
    }

    @Override
    public boolean hasAttribute(String name) {
        return node.attributes().containsKey(name);
    }

    private Attribute attr(String name, Attribute.Kind expected) {
        Attribute a = node.attributes().get(name);
        if (a != null && a.kind() != expected) {
            throw error("attribute '" + name + "' must be of type " + expected.label() + ", the model gives " + a.kind().label());
        }
        return a;
    }

    @Override
    public long attrInt(String name, long defaultValue) {
        Attribute a = attr(name, Attribute.Kind.INT);
        return a == null ? defaultValue : (Long) a.value();
    }

    @Override
    public float attrFloat(String name, float defaultValue) {
        Attribute a = attr(name, Attribute.Kind.FLOAT);
        return a == null ? defaultValue : (Float) a.value();
    }

    @Override
    public String attrString(String name, String defaultValue) {
        Attribute a = attr(name, Attribute.Kind.STRING);
        return a == null ? defaultValue : (String) a.value();
    }

    @Override
    public long[] attrInts(String name, long[] defaultValue) {
        Attribute a = attr(name, Attribute.Kind.INTS);
        return a == null ? defaultValue : ((long[]) a.value()).clone();
    }

    @Override
    public float[] attrFloats(String name, float[] defaultValue) {
        Attribute a = attr(name, Attribute.Kind.FLOATS);
        return a == null ? defaultValue : ((float[]) a.value()).clone();
    }

    @Override
    public String[] attrStrings(String name, String[] defaultValue) {
        Attribute a = attr(name, Attribute.Kind.STRINGS);
        return a == null ? defaultValue : ((String[]) a.value()).clone();
    }

    @Override
    public Tensor attrTensor(String name) {
        Attribute a = attr(name, Attribute.Kind.TENSOR);
        return a == null ? null : (Tensor) a.value();
    }

    @Override
    public int parallelism() {
        return parallelism;
    }

    @Override
    public Graph graphAttribute(String name) {
        Attribute a = attr(name, Attribute.Kind.GRAPH);
        return a == null ? null : (Graph) a.value();
    }

    @Override
    public int explicitInputCount() {
        return Subgraphs.explicitInputCount(node);
    }

    @Override
    public SubgraphPlan compile(Graph sub, String label, List<TensorType> formalTypes) {
        if (compiler == null) {
            throw error("subgraphs need the model's compiler");
        }
        if (formalTypes.size() != sub.inputs().size()) {
            throw error(label + " takes " + sub.inputs().size() + " inputs, the node gives it " + formalTypes.size());
        }
        List<ValueInfo> ins = new ArrayList<>();
        List<TensorType> sig = new ArrayList<>(formalTypes);
        for (int i = 0; i < formalTypes.size(); i++) {
            ins.add(new ValueInfo(sub.inputs().get(i).name(), formalTypes.get(i).dtype(), null));
        }
        Map<String, Tensor> bound = new LinkedHashMap<>();
        List<Object> key = new ArrayList<>();
        key.add(new Compiler.Same(sub));
        List<Integer> outer = new ArrayList<>();
        int explicit = explicitInputCount();
        List<String> names = node.inputs();
        for (String name : sub.outerNames()) {
            int i = explicit + names.subList(explicit, names.size()).indexOf(name);
            Tensor c = constants[i];
            if (c != null && (!valuesVary || modelConstants.get(name) == c)) {
                bound.put(name, c);
                key.add(new Compiler.Same(c));
            } else {
                ins.add(new ValueInfo(name, types[i].dtype(), null));
                sig.add(types[i]);
                outer.add(i);
            }
        }
        key.add(List.copyOf(sig));
        int[] outerInputs = outer.stream().mapToInt(Integer::intValue).toArray();
        return compiler.subgraphPlan(key, () -> {
            Graph view = new Graph(sub.name(), sub.nodes(), ins, sub.outputs(), bound, sub.valueInfos(), sub.opsets());
            Compiler child = compiler.child(view);
            try {
                return new SubgraphPlan(child, child.compile(sig, null), outerInputs,
                        sub.outputs().stream().map(ValueInfo::name).toArray(String[]::new));
            } catch (OpException e) {
                throw error(label + ": " + e.getMessage());
            }
        });
    }

    @Override
    public OpException error(String message) {
        return new OpException(node.opType() + " '" + node.name() + "' (opset " + opset + "): " + message);
    }
}
