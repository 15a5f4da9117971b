package io.vnrt.runtime.kernels.shape;

import io.vnrt.runtime.kernels.OpRegistry;

/** Shape and data-movement operators. */
public final class ShapeOps {
    private ShapeOps() {}

    /** Adds this family's operators to the registry. */
    public static void register(OpRegistry registry) {
    }
}
