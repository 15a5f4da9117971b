package io.vnrt.runtime.kernels.reduce;

import io.vnrt.runtime.kernels.OpRegistry;

/** Reductions, ArgMax/ArgMin, CumSum and TopK. */
public final class ReduceOps {
    private ReduceOps() {}

    /** Adds this family's operators to the registry. */
    public static void register(OpRegistry registry) {
    }
}
