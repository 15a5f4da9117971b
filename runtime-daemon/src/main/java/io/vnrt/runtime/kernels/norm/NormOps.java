package io.vnrt.runtime.kernels.norm;

import io.vnrt.runtime.kernels.OpRegistry;

/** Normalisations and the Softmax family. */
public final class NormOps {
    private NormOps() {}

    /** Adds this family's operators to the registry. */
    public static void register(OpRegistry registry) {
    }
}
