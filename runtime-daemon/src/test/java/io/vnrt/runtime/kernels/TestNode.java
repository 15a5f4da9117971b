package io.vnrt.runtime.kernels;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A NodeContext built by hand, for unit tests of kernels without an ONNX file:
 * {@code TestNode.of("Gemm", 13).input(a).input(b).attr("transB", 1).run()}.
 */
public final class TestNode implements NodeContext {
    private final String opType;
    private final int opset;
    private final List<Tensor> inputs = new ArrayList<>();
    private final List<Boolean> constant = new ArrayList<>();
    private final Map<String, Object> attrs = new HashMap<>();
    private int outputs = 1;
    private int parallelism = 1;

    private TestNode(String opType, int opset) {
        this.opType = opType;
        this.opset = opset;
    }

    public static TestNode of(String opType, int opset) {
        return new TestNode(opType, opset);
    }

    /** A non-constant input (its value is only seen at run time). */
    public TestNode input(Tensor t) {
        inputs.add(t);
        constant.add(false);
        return this;
    }

    /** An input whose value is known at compile time (an initializer). */
    public TestNode constInput(Tensor t) {
        inputs.add(t);
        constant.add(true);
        return this;
    }

    /** An absent optional input. */
    public TestNode noInput() {
        inputs.add(null);
        constant.add(false);
        return this;
    }

    public TestNode attr(String name, Object value) {
        attrs.put(name, value);
        return this;
    }

    public TestNode outputs(int n) {
        outputs = n;
        return this;
    }

    public TestNode parallelism(int n) {
        parallelism = n;
        return this;
    }

    /** Compiles with the standard registry and runs once inline; returns the outputs. */
    public Tensor[] run() {
        return run(OpRegistry.standard());
    }

    public Tensor[] run(OpRegistry registry) {
        OpFactory f = registry.find("", opType);
        if (f == null) {
            throw new OpException("no kernel for " + opType);
        }
        return run(f.create(this), ExecContext.inline(null));
    }

    /** Runs an already created kernel in the given context (workspace allocated here if null). */
    public Tensor[] run(Kernel k, ExecContext ctx) {
        TensorType[] types = k.outputTypes();
        Tensor[] out = new Tensor[types.length];
        for (int i = 0; i < types.length; i++) {
            // a null type is an optional output the node does not ask for
            out[i] = types[i] == null ? null : Tensor.allocate(types[i].dtype(), types[i].shape());
        }
        ExecContext c = ctx;
        if (ctx.workspace() == null && k.workspaceBytes() > 0) {
            var ws = Arena.ofAuto().allocate(k.workspaceBytes(), 64);
            c = new ExecContext() {
                @Override
                public int parallelism() {
                    return ctx.parallelism();
                }

                @Override
                public void parallelFor(int tasks, TaskBody body) {
                    ctx.parallelFor(tasks, body);
                }

                @Override
                public java.lang.foreign.MemorySegment workspace() {
                    return ws;
                }
            };
        }
        k.run(inputs.toArray(new Tensor[0]), out, c);
        return out;
    }

    @Override
    public String opType() {
        return opType;
    }

    @Override
    public String nodeName() {
        return "test_" + opType;
    }

    @Override
    public int opset() {
        return opset;
    }

    @Override
    public int inputCount() {
        return inputs.size();
    }

    @Override
    public boolean hasInput(int i) {
        return i < inputs.size() && inputs.get(i) != null;
    }

    @Override
    public TensorType inputType(int i) {
        if (!hasInput(i)) {
            throw error("input " + i + " is absent");
        }
        return inputs.get(i).type();
    }

    @Override
    public Tensor constantInput(int i) {
        return hasInput(i) && constant.get(i) ? inputs.get(i) : null;
    }

    @Override
    public Tensor requireConstant(int i) {
        return hasInput(i) ? inputs.get(i) : null;
    }

    @Override
    public int outputCount() {
        return outputs;
    }

    @Override
    public boolean hasOutput(int i) {
        return i < outputs;
    }

    @Override
    public boolean hasAttribute(String name) {
        return attrs.containsKey(name);
    }

    @Override
    public long attrInt(String name, long d) {
        Object v = attrs.get(name);
        return v == null ? d : ((Number) v).longValue();
    }

    @Override
    public float attrFloat(String name, float d) {
        Object v = attrs.get(name);
        return v == null ? d : ((Number) v).floatValue();
    }

    @Override
    public String attrString(String name, String d) {
        Object v = attrs.get(name);
        return v == null ? d : (String) v;
    }

    @Override
    public long[] attrInts(String name, long[] d) {
        Object v = attrs.get(name);
        return v == null ? d : (long[]) v;
    }

    @Override
    public float[] attrFloats(String name, float[] d) {
        Object v = attrs.get(name);
        return v == null ? d : (float[]) v;
    }

    @Override
    public String[] attrStrings(String name, String[] d) {
        Object v = attrs.get(name);
        return v == null ? d : (String[]) v;
    }

    @Override
    public Tensor attrTensor(String name) {
        return (Tensor) attrs.get(name);
    }

    @Override
    public int parallelism() {
        return parallelism;
    }
}
