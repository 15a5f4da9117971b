package io.vnrt.runtime.kernels.reduce;

import io.vnrt.runtime.kernels.OpRegistry;

/** Reductions, ArgMax/ArgMin, CumSum, CumProd and TopK. */
public final class ReduceOps {
    private ReduceOps() {}

    /** Adds this family's operators to the registry. */
    public static void register(OpRegistry registry) {
        for (ReduceKind kind : ReduceKind.values()) {
            registry.register(kind.opType(), node -> Reduce.create(node, kind));
        }
        registry.register("ArgMax", node -> ArgExtremum.create(node, true));
        registry.register("ArgMin", node -> ArgExtremum.create(node, false));
        registry.register("CumSum", CumSum::sum);
        // issue 11 (tier 2)
        registry.register("CumProd", CumSum::product);
        registry.register("TopK", TopK::create);
    }
}
