package io.vnrt.runtime.kernels;

import java.lang.foreign.SegmentAllocator;

/**
 * A kernel whose output shapes are known only once it has run: a Loop whose trip count or
 * condition is a value, an If whose branches give different shapes. The compiler runs such a
 * node where every input value is known (constant folding, or the plan's dynamic tail at
 * execution), and the kernel allocates its outputs from the memory it is given.
 * {@link #outputTypes()} is not called for it.
 */
public interface DynamicOutputKernel extends Kernel {

    /** Computes the outputs (null for ones it does not produce), allocated from {@code memory}. */
    Tensor[] run(Tensor[] inputs, SegmentAllocator memory, ExecContext ctx);

    @Override
    default TensorType[] outputTypes() {
        throw new UnsupportedOperationException("the output types of this kernel are known only once it has run");
    }

    @Override
    default void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        throw new UnsupportedOperationException("this kernel allocates its outputs: run it with a SegmentAllocator");
    }
}
