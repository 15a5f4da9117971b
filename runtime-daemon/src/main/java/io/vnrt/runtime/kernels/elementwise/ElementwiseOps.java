package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.OpRegistry;

/** Elementwise operators, activations, comparisons, logic, Cast and Where. */
public final class ElementwiseOps {
    private ElementwiseOps() {}

    /** Adds this family's operators to the registry. */
    public static void register(OpRegistry registry) {
    }
}
