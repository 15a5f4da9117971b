package io.vnrt.runtime.kernels;

/**
 * One compiled operator invocation: created once per plan (a model plus an input-shape signature)
 * with its input types and constant inputs known, then run many times over pre-allocated tensors.
 * A kernel holds no per-execution state, so a plan may run on several threads at once only if
 * each execution has its own buffers (the executor guarantees that).
 */
public interface Kernel {

    /** Output types, fully known: a kernel whose output shape depends on a non-constant input's
     *  values obtains them through {@link NodeContext#requireConstant}, which defers compilation. */
    TensorType[] outputTypes();

    /**
     * Computes the outputs. {@code outputs[i]} is pre-allocated with {@code outputTypes()[i]};
     * absent optional inputs are null. Must not allocate off-heap memory; temporary space comes
     * from {@link ExecContext#workspace()}, sized by {@link #workspaceBytes()}.
     */
    void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx);

    /** Temporary bytes {@link #run} needs, reserved in the plan's scratch space. */
    default long workspaceBytes() {
        return 0;
    }

    /**
     * For ops that only reinterpret their input (Reshape, Squeeze, Flatten, Identity...): the index
     * of the input whose bytes output {@code outputIndex} can share, or -1. When the planner honours
     * it, {@link #run} is not called for that output.
     */
    default int aliasOfInput(int outputIndex) {
        return -1;
    }

    /** False for inputs whose bytes are never read (Shape, Size): lets constant folding go through them. */
    default boolean readsInput(int inputIndex) {
        return true;
    }
}
