package io.vnrt.runtime.kernels;

/**
 * What a kernel factory sees of a node at compile time: its attributes, opset, input types
 * (always concrete) and the values of inputs that are constant (initializers or folded).
 */
public interface NodeContext {
    String opType();

    /** The node's name, or a generated one, for error messages. */
    String nodeName();

    /** The opset version of the node's domain that the model imports. */
    int opset();

    /** Number of input slots, including absent optional ones. */
    int inputCount();

    /** False for an absent optional input (empty name) or an index past the end. */
    boolean hasInput(int i);

    /** Type of input i; throws OpException if absent. */
    TensorType inputType(int i);

    /** The value of input i if it is known at compile time, else null. */
    Tensor constantInput(int i);

    /**
     * The value of input i, which this op needs to know its output shape (Reshape's shape, Slice's
     * starts...). When it is not known at compile time, compilation of this node is deferred to
     * execution time, when every value is known; so callers may treat the result as non-null.
     */
    Tensor requireConstant(int i);

    int outputCount();

    /** True when output i is consumed by someone (optional outputs may be unused). */
    boolean hasOutput(int i);

    boolean hasAttribute(String name);

    long attrInt(String name, long defaultValue);

    float attrFloat(String name, float defaultValue);

    String attrString(String name, String defaultValue);

    /** Integer list attribute, or defaultValue (may be null) when absent. */
    long[] attrInts(String name, long[] defaultValue);

    float[] attrFloats(String name, float[] defaultValue);

    String[] attrStrings(String name, String[] defaultValue);

    /** Tensor attribute, or null. */
    Tensor attrTensor(String name);

    /**
     * Device memory holding a transformed copy of constant input {@code input} (pre-packed GEMM
     * panels, say), shared by every plan of the model that asks for the same input and
     * {@code layout}: {@code fill} runs once, when the copy is first made. The model's loader
     * charges it to the model's weights. Only for inputs whose {@link #constantInput} is non-null.
     */
    default java.lang.foreign.MemorySegment packedConstant(int input, String layout, long bytes,
            java.util.function.Consumer<java.lang.foreign.MemorySegment> fill) {
        java.lang.foreign.MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate(Math.max(bytes, 1), 64)
                .asSlice(0, bytes);
        fill.accept(seg);
        return seg;
    }

    /** Number of cores the plan runs on (kernels may size their parallel split with it). */
    int parallelism();

    /** Shorthand for a failure naming the node: "Conv 'conv1' (opset 11): message". */
    default OpException error(String message) {
        return new OpException(opType() + " '" + nodeName() + "' (opset " + opset() + "): " + message);
    }
}
