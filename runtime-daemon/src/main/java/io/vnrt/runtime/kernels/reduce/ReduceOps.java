package io.vnrt.runtime.kernels.reduce;

import io.vnrt.runtime.kernels.OpRegistry;

/** Reductions, ArgMax/ArgMin, CumSum and TopK. */
public final class ReduceOps {
    private ReduceOps() {}

    /** Adds this family's operators to the registry. */
    public static void register(OpRegistry registry) {
        for (ReduceKind kind : ReduceKind.values()) {
            registry.register(kind.opType(), node -> Reduce.create(node, kind));
        }
        registry.register("ArgMax", node -> ArgExtremum.create(node, true));
        registry.register("ArgMin", node -> ArgExtremum.create(node, false));
        registry.register("CumSum", CumSum::create);
        registry.register("TopK", TopK::create);
    }
}
